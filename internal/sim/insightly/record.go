package insightly

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// dateLayout is how Insightly writes every datetime in a body: UTC, no T,
// no zone, no fraction (spec §3).
const dateLayout = "2006-01-02 15:04:05"

func formatDate(t time.Time) string { return t.UTC().Format(dateLayout) }

// record is one Insightly record. Scalars are int64, float64, string, bool
// or nil; arrays are []any of map[string]any. Records are never shared
// between the store and a caller: clone crosses that line.
type record map[string]any

func (r record) clone() record {
	if r == nil {
		return nil
	}
	out := make(record, len(r))
	for k, v := range r {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}

// elementKeys is the key order of the elements of each array field, so
// nested objects serialise the way Insightly writes them.
var elementKeys = map[string][]string{
	"CUSTOMFIELDS": {"FIELD_NAME", "FIELD_VALUE", "CUSTOM_FIELD_ID"},
	"TAGS":         {"TAG_NAME"},
	"DATES":        {"DATE_ID", "OCCASION_NAME", "OCCASION_DATE", "REPEAT_YEARLY", "CREATE_TASK_YEARLY"},
	"LINKS": {"LINK_ID", "OBJECT_NAME", "OBJECT_ID", "LINK_OBJECT_NAME", "LINK_OBJECT_ID",
		"ROLE", "DETAILS", "RELATIONSHIP_ID", "IS_FORWARD"},
	"EMAILDOMAINS": {"EMAIL_DOMAIN_ID", "EMAIL_DOMAIN"},
	"ACTIVITIES":   {"ACTIVITY_ID", "ACTIVITYSET_ID", "ACTIVITY_NAME", "ACTIVITY_DETAILS", "ACTIVITY_TYPE"},
}

// appendRecord writes r as Insightly does: every field of the object in
// schema order, unset scalars as null and unset arrays as []. brief drops
// the array fields, as ?brief=true does.
func (o *object) appendRecord(b []byte, r record, brief bool) []byte {
	b = append(b, '{')
	first := true
	for _, f := range o.Fields {
		if brief && f.Kind == kindArray {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, f.Name)
		b = append(b, ':')
		v := r[f.Name]
		if v == nil && f.Kind == kindArray {
			b = append(b, '[', ']')
			continue
		}
		b = appendValue(b, v, elementKeys[f.Name])
	}
	return append(b, '}')
}

func appendValue(b []byte, v any, keys []string) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		return appendFloat(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e, keys)
		}
		return append(b, ']')
	case map[string]any:
		return appendObject(b, v, keys)
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, enc...)
	}
}

// appendObject writes the known keys first in their order, then any others sorted.
func appendObject(b []byte, m map[string]any, keys []string) []byte {
	b = append(b, '{')
	n := 0
	put := func(k string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendString(b, k)
		b = append(b, ':')
		b = appendValue(b, m[k], nil)
	}
	for _, k := range keys {
		if _, ok := m[k]; ok {
			put(k)
		}
	}
	if n < len(m) {
		var rest []string
		for k := range m {
			if !slices.Contains(keys, k) {
				rest = append(rest, k)
			}
		}
		slices.Sort(rest)
		for _, k := range rest {
			put(k)
		}
	}
	return append(b, '}')
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendString quotes s as JSON without HTML escaping (ASP.NET does not
// escape <, > and &).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// normalize converts decoded JSON (with UseNumber) into the record's value
// types: integral numbers become int64, others float64.
func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
		return v
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
		return v
	default:
		return v
	}
}

// valueString renders a scalar the way field_value compares it.
func valueString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return string(appendFloat(nil, v)), true
	default:
		return "", false
	}
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	return 0, false
}
