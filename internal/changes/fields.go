package changes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Fields is a record flattened into named fields, each value canonical
// compact JSON (see [Canonical]). It is what a snapshot keeps.
type Fields map[string]json.RawMessage

// Flatten turns a raw record into its fields, values as sent (they need
// not be canonical). insightly.FieldsOf is one; [TopLevel] is another.
type Flatten func(json.RawMessage) (map[string]json.RawMessage, error)

// TopLevel is the Flatten of records whose fields are their top-level keys.
func TopLevel(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("changes: record: %w", err)
	}
	if m == nil {
		return nil, errors.New("changes: record is not a JSON object")
	}
	return m, nil
}

// Fields flattens raw with f and canonicalises every value.
func (f Flatten) Fields(raw json.RawMessage) (Fields, error) {
	flat, err := f(raw)
	if err != nil {
		return nil, err
	}
	out := make(Fields, len(flat))
	for k, v := range flat {
		c, err := Canonical(v)
		if err != nil {
			return nil, fmt.Errorf("changes: field %q: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

// Canonical returns raw's canonical form: compact, object keys sorted
// (duplicate keys: the last wins, as encoding/json decodes them), strings
// with the fewest escapes, numbers in the shortest form of their exact
// decimal value (10.0 and 1e1 are 10; 0.50 is 0.5; 1e-7 is 1e-7; -0 is 0).
// Two values are equal in the sense of this package iff their canonical
// forms are byte-equal. Empty input is null.
func Canonical(raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null"), nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw[d.InputOffset():])) > 0 {
		return nil, errors.New("changes: trailing data after JSON value")
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	WriteCanonical(&b, v, NumbersByValue)
	return b.Bytes(), nil
}

// canonicalOrText is Canonical, or for invalid JSON the raw text as a
// JSON string, so that every value can be compared and written.
func canonicalOrText(raw json.RawMessage) json.RawMessage {
	c, err := Canonical(raw)
	if err != nil {
		var b bytes.Buffer
		WriteString(&b, string(raw))
		return b.Bytes()
	}
	return c
}

// NumberForm says how WriteCanonical writes numbers.
type NumberForm int

// The number forms.
const (
	// NumbersByValue writes a number as the shortest text of its exact
	// decimal value (10 and 10.0 alike): how values compare here.
	NumbersByValue NumberForm = iota
	// NumbersAsWritten keeps a number's text: the poller's content hash,
	// whose stored form must not change.
	NumbersAsWritten
)

// WriteCanonical writes a decoded JSON value (numbers as json.Number)
// canonically: object keys sorted, no whitespace, strings by WriteString,
// numbers in the given form. The poller's content hash uses it too, so
// its output for NumbersAsWritten is fixed.
func WriteCanonical(b *bytes.Buffer, v any, numbers NumberForm) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			WriteString(b, k)
			b.WriteByte(':')
			WriteCanonical(b, v[k], numbers)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			WriteCanonical(b, e, numbers)
		}
		b.WriteByte(']')
	case string:
		WriteString(b, v)
	case json.Number:
		if numbers == NumbersAsWritten {
			b.WriteString(string(v))
		} else {
			b.WriteString(canonicalNumber(string(v)))
		}
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	}
}

// canonicalNumber rewrites a JSON number as the shortest text of its exact
// decimal value: plain digits for integers below 1e21, a decimal point for
// values down to 1e-6, otherwise d.ddde±n. A number whose exponent does
// not fit an int64 is kept as written.
func canonicalNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	var exp int64
	if hasExp {
		e, err := strconv.ParseInt(strings.TrimPrefix(expText, "+"), 10, 64)
		if err != nil || e > 1<<40 || e < -(1<<40) {
			if neg {
				return "-" + s
			}
			return s
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= int64(len(frac))
	if digits == "" {
		return "0"
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	digits = trimmed
	// value = digits × 10^exp; point is the count of digits before the point.
	point := int64(len(digits)) + exp
	var out string
	switch {
	case exp >= 0 && point <= 21:
		out = digits + strings.Repeat("0", int(exp))
	case exp < 0 && point > 0:
		out = digits[:point] + "." + digits[point:]
	case exp < 0 && point > -6:
		out = "0." + strings.Repeat("0", int(-point)) + digits
	default:
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		out += "e" + strconv.FormatInt(point-1, 10)
	}
	if neg {
		return "-" + out
	}
	return out
}

// WriteString writes s as a JSON string with the fewest escapes: the same
// text always gives the same bytes, however it was escaped upstream. The
// poller's content hash writes strings with it too, so its form is fixed:
// changing it changes every stored hash.
func WriteString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				fmt.Fprintf(b, `\u%04x`, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}
