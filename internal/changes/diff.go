package changes

import (
	"bytes"
	"encoding/json"
)

// Change is one field's values before and after, as JSON
// {"before": …, "after": …}; an absent side is null.
type Change struct {
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

var null = json.RawMessage("null")

// Diff returns exactly the fields whose values differ between two versions
// of a record, with both values in canonical form. Values compare by
// [Canonical] form (numbers by decimal value, objects regardless of key
// order, strings exactly; arrays as a whole), and an absent field equals
// null. A value that is not valid JSON compares, and is reported, as a
// JSON string of its text. Names compare exactly. The result is never nil;
// it is empty when nothing changed.
func Diff(before, after map[string]json.RawMessage) map[string]Change {
	out := map[string]Change{}
	check := func(k string) {
		b, a := null, null
		if v, ok := before[k]; ok {
			b = canonicalOrText(v)
		}
		if v, ok := after[k]; ok {
			a = canonicalOrText(v)
		}
		if !bytes.Equal(b, a) {
			out[k] = Change{Before: b, After: a}
		}
	}
	for k := range before {
		check(k)
	}
	for k := range after {
		if _, seen := before[k]; !seen {
			check(k)
		}
	}
	return out
}
