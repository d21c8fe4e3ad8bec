// Package jsonschema checks JSON values against the small subset of JSON
// Schema that Cloud Elements' own test suite used for its responses:
// type, properties, required, items and enum. Tests use it to hold
// pollhook's answers to those schemas.
package jsonschema

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// Validate checks the JSON document doc against the schema and returns
// every violation, each with its JSON path.
func Validate(schema, doc []byte) ([]string, error) {
	var s, d any
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("jsonschema: schema: %w", err)
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("jsonschema: document: %w", err)
	}
	var out []string
	check(s, d, "$", &out)
	return out, nil
}

func check(schema, v any, path string, out *[]string) {
	sch, ok := schema.(map[string]any)
	if !ok {
		return
	}
	if t, ok := sch["type"]; ok && !typeMatches(t, v) {
		*out = append(*out, fmt.Sprintf("%s: want type %v, got %s", path, t, typeOf(v)))
		return
	}
	if enum, ok := sch["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return equal(e, v) }) {
		*out = append(*out, fmt.Sprintf("%s: %v is not one of %v", path, v, enum))
	}
	if obj, ok := v.(map[string]any); ok {
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if _, present := obj[r.(string)]; !present {
					*out = append(*out, fmt.Sprintf("%s: missing required %q", path, r))
				}
			}
		}
		if props, ok := sch["properties"].(map[string]any); ok {
			keys := make([]string, 0, len(props))
			for k := range props {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if pv, present := obj[k]; present {
					check(props[k], pv, path+"."+k, out)
				}
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := sch["items"]; ok {
			for i, e := range arr {
				check(items, e, fmt.Sprintf("%s[%d]", path, i), out)
			}
		}
	}
}

func typeMatches(t any, v any) bool {
	switch t := t.(type) {
	case string:
		return typeOf(v) == t || (t == "number" && typeOf(v) == "integer")
	case []any:
		return slices.ContainsFunc(t, func(e any) bool { return typeMatches(e, v) })
	}
	return true
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
