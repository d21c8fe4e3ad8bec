package instance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// input is a POST, PUT or PATCH /instances body. Top-level keys Cloud
// Elements clients send that pollhook has no use for (providerData,
// cachingEnabled…) are ignored rather than refused, so existing clients
// keep working; the configuration, where a typo silently breaks polling,
// is checked key by key.
type input struct {
	Element       *elementRef                `json:"element"`
	Name          *string                    `json:"name"`
	Tags          *[]string                  `json:"tags"`
	Configuration map[string]json.RawMessage `json:"configuration"`
	// Present reports which keys the body had, for PATCH.
	hasConfiguration bool
}

type elementRef struct {
	Key string          `json:"key"`
	ID  json.RawMessage `json:"id"`
}

// decodeInput reads a body; a JSON syntax error says where the JSON broke.
func decodeInput(body []byte) (*input, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("body", "a JSON object is required")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, jsonError("body", body, err)
	}
	if raw == nil {
		return nil, invalid("body", "must be a JSON object")
	}
	var in input
	if err := json.Unmarshal(body, &in); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asTypeError(err, &te); ok {
			return nil, invalid(te.Field, "must be %s, not %s", describeType(te.Type.String()), te.Value)
		}
		return nil, jsonError("body", body, err)
	}
	_, in.hasConfiguration = raw["configuration"]
	return &in, nil
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	*te = t
	return ok
}

func describeType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "*[]string"), strings.HasPrefix(goType, "[]string"):
		return "an array of strings"
	case strings.Contains(goType, "string"):
		return "a string"
	case strings.Contains(goType, "map"), strings.Contains(goType, "elementRef"):
		return "an object"
	}
	return goType
}

// jsonError says where the JSON broke: line, column and what came before.
func jsonError(field string, body []byte, err error) *Error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 {
		return invalid(field, "is not valid JSON: %v", err)
	}
	line, col := 1, 1
	for _, c := range body[:min(int(off), len(body))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	// Name the last key before the break rather than quoting the text
	// around it, which could hold a secret.
	msg := fmt.Sprintf("is not valid JSON: %v at line %d, column %d", err, line, col)
	if keys := lastKey.FindAllSubmatch(body[:min(int(off), len(body))], -1); len(keys) > 0 {
		msg += fmt.Sprintf(", after the value of %q", keys[len(keys)-1][1])
		if strings.Contains(err.Error(), "after object key:value pair") {
			msg += " (a comma is probably missing)"
		}
	}
	return invalid(field, "%s", msg)
}

var lastKey = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"\s*:`)

// configValue turns a configuration value into its stored string form:
// strings as they are, booleans and numbers as their JSON text. Objects
// are allowed only where a key takes JSON (event.poller.configuration).
func configValue(key string, raw json.RawMessage, jsonAllowed bool) (value string, present bool, err error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", false, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, invalid("configuration."+key, "is not a valid JSON string")
		}
		return s, true, nil
	case raw[0] == '{' || raw[0] == '[':
		if !jsonAllowed {
			return "", false, invalid("configuration."+key, "must be a string, number or boolean, not an object or array")
		}
		return string(raw), true, nil
	default: // number, true, false
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", false, invalid("configuration."+key, "is not valid JSON")
		}
		return string(raw), true, nil
	}
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

// sanitize strips HTML from names and tags, as Cloud Elements does
// (`<a href=…>churros-xss</a>` becomes `churros-xss`), and unescapes
// entities so the text is what a person typed.
func sanitize(s string) string {
	return strings.TrimSpace(html.UnescapeString(tagPattern.ReplaceAllString(s, "")))
}

const (
	maxName = 255
	maxTag  = 100
	maxTags = 50
)

func cleanName(name string) (string, error) {
	n := sanitize(name)
	switch {
	case !utf8.ValidString(n):
		return "", invalid("name", "is not valid UTF-8")
	case n == "":
		return "", invalid("name", "is required and must not be empty (after removing HTML)")
	case utf8.RuneCountInString(n) > maxName:
		return "", invalid("name", "is longer than %d characters", maxName)
	}
	return n, nil
}

func cleanTags(tags []string) ([]string, error) {
	if len(tags) > maxTags {
		return nil, invalid("tags", "has %d tags; at most %d", len(tags), maxTags)
	}
	out := []string{}
	for i, t := range tags {
		c := sanitize(t)
		switch {
		case c == "":
			return nil, invalid(fmt.Sprintf("tags[%d]", i), "is empty (after removing HTML)")
		case utf8.RuneCountInString(c) > maxTag:
			return nil, invalid(fmt.Sprintf("tags[%d]", i), "is longer than %d characters", maxTag)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}
