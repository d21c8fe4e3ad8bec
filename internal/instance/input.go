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

// sanitizeRounds bounds sanitize's loop. Real input settles in two or
// three rounds; only deliberately nested encodings need more.
const sanitizeRounds = 16

// sanitize strips HTML from names and tags, as Cloud Elements does
// (`<a href=…>churros-xss</a>` becomes `churros-xss`), and unescapes
// entities so the text is what a person typed. The result holds no
// markup whatever the input:
//
//   - tags are stripped and entities decoded in turn until nothing
//     changes, so an encoded tag (`&lt;img …&gt;`, `&#60;…`, `&amp;lt;…`)
//     is decoded and then stripped like a typed one;
//   - a '<' left without a closing '>' that could still open a tag (one
//     followed by a letter, '/', '!' or '?', as in an unclosed
//     `<img src=x onerror=…`) is dropped, with any '<' run just before it;
//     the text after it stays;
//   - any other '<' is text and is kept: "a < b", "1<2", "I <3 it";
//   - input still changing after sanitizeRounds rounds (nesting no person
//     types) loses every '<' and '&'.
//
// The result is a fixpoint: sanitizing it again changes nothing.
func sanitize(s string) string {
	for range sanitizeRounds {
		t := strings.TrimSpace(html.UnescapeString(tagPattern.ReplaceAllString(s, "")))
		if t == s {
			// Only once no tag or entity is left: "&lt;b&gt;x" loses the
			// whole tag rather than just its '<'.
			t = dropTagOpeners(s)
			if t == s {
				return s
			}
		}
		s = t
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '<' || r == '&' {
			return -1
		}
		return r
	}, s))
}

// dropTagOpeners removes each run of '<' followed by a letter, '/', '!'
// or '?': what an HTML parser would read as the start of a tag, an end
// tag, a comment or a processing instruction.
func dropTagOpeners(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == '<' {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		if j == len(s) || !opensTag(s[j]) {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return strings.TrimSpace(b.String())
}

func opensTag(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '/' || c == '!' || c == '?'
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
	var p problems
	for i, t := range tags {
		c := sanitize(t)
		switch {
		case c == "":
			p.add(invalid(fmt.Sprintf("tags[%d]", i), "is empty (after removing HTML)"))
			continue
		case utf8.RuneCountInString(c) > maxTag:
			p.add(invalid(fmt.Sprintf("tags[%d]", i), "is longer than %d characters", maxTag))
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}
