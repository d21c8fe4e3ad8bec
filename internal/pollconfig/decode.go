package pollconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// member is one key of a JSON object, in input order.
type member struct {
	key string
	val json.RawMessage
}

// members lists an object's keys in input order, duplicates included, so
// that the caller can reject duplicates (encoding/json would silently keep
// the last one, and the stored canonical form would lose the other). raw
// must already be known to be a valid JSON object.
func members(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key is %T", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{key, v})
	}
	return ms, nil
}

// kind names the JSON type of a valid value, for "found number" messages.
func kind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isNull(raw json.RawMessage) bool { return kind(raw) == "null" }

// found describes a value for an error message: its type, and the value
// itself when it is short.
func found(raw json.RawMessage) string {
	k := kind(raw)
	switch k {
	case "object", "array", "null":
		return k
	}
	return k + " " + truncate(string(bytes.TrimSpace(raw)), 40)
}

// objectMembers checks that raw is an object and returns its members,
// rejecting duplicate keys.
func objectMembers(field string, raw json.RawMessage) ([]member, *Error) {
	if kind(raw) != "object" {
		return nil, errorf(field, "must be an object, found %s", found(raw))
	}
	ms, err := members(raw)
	if err != nil {
		return nil, errorf(field, "invalid JSON: %v", err)
	}
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if seen[m.key] {
			return nil, errorf(field+"."+m.key, "duplicate key")
		}
		seen[m.key] = true
	}
	return ms, nil
}

func decodeString(field string, raw json.RawMessage) (string, *Error) {
	if kind(raw) != "string" {
		return "", errorf(field, "must be a string, found %s", found(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errorf(field, "invalid JSON string: %v", err)
	}
	return s, nil
}

// decodeStrings reads an array of strings; an empty array is nil, the
// same as an absent key. Compile checks the names themselves.
func decodeStrings(field string, raw json.RawMessage) ([]string, *Error) {
	if kind(raw) != "array" {
		return nil, errorf(field, "must be an array of field names, found %s", found(raw))
	}
	var vals []json.RawMessage
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, errorf(field, "invalid JSON: %v", err)
	}
	if len(vals) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(vals))
	for i, v := range vals {
		if kind(v) != "string" {
			return nil, errorf(field, "item %d must be a string (a field name), found %s", i+1, found(v))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, errorf(field, "item %d: invalid JSON string: %v", i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeBool accepts true and false, and the strings "true" and "false" in
// any case, because Cloud Elements' exports write booleans as strings and
// Java's Boolean.parseBoolean ignores case.
func decodeBool(field string, raw json.RawMessage) (bool, *Error) {
	switch kind(raw) {
	case "boolean":
		return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true")), nil
	case "string":
		s, e := decodeString(field, raw)
		if e != nil {
			return false, e
		}
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, errorf(field, "must be true or false, found %s", found(raw))
}

// decodeInt accepts an integer JSON number or a string holding one, since
// Cloud Elements' exports write numbers as strings. Fractions and exponents
// are rejected rather than rounded: "1.5" seconds is a mistake to report.
func decodeInt(field string, raw json.RawMessage) (int64, *Error) {
	var lit string
	switch kind(raw) {
	case "number":
		lit = string(bytes.TrimSpace(raw))
	case "string":
		s, e := decodeString(field, raw)
		if e != nil {
			return 0, e
		}
		lit = s
	default:
		return 0, errorf(field, "must be a whole number, found %s", found(raw))
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, errorf(field, "%s is out of range", lit)
	}
	if err != nil {
		return 0, errorf(field, "must be a whole number, found %s", found(raw))
	}
	return n, nil
}

// decodeFloat accepts a JSON number or a string holding one.
func decodeFloat(field string, raw json.RawMessage) (float64, *Error) {
	var lit string
	switch kind(raw) {
	case "number":
		lit = string(bytes.TrimSpace(raw))
	case "string":
		s, e := decodeString(field, raw)
		if e != nil {
			return 0, e
		}
		lit = s
	default:
		return 0, errorf(field, "must be a number, found %s", found(raw))
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errorf(field, "must be a number, found %s", found(raw))
	}
	return f, nil
}

// canonicalJSON re-encodes a valid JSON value compactly with object keys
// sorted, so that ignored keys kept for round-tripping encode the same
// whatever their input formatting. Numbers keep their literal text.
func canonicalJSON(raw json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return marshal(v)
}

// marshal encodes compactly, with sorted map keys and without HTML escaping:
// the stored configuration is read by people, and "&" in a URL should stay
// "&" rather than become "\u0026".
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
