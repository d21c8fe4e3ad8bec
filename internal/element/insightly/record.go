package insightly

import (
	"encoding/json"
	"strings"

	"github.com/pollhook/pollhook/internal/element"
)

// lookup is element.Record.Lookup that also finds custom fields by name:
// "Hobby__c" looks in CUSTOMFIELDS for FIELD_NAME Hobby__c (matched
// case-insensitively, as Insightly matches names).
func lookup(r *element.Record, path string) (any, bool) {
	if v, ok := r.Lookup(path); ok {
		return v, true
	}
	if !strings.HasSuffix(strings.ToLower(path), "__c") || strings.Contains(path, ".") {
		return nil, false
	}
	cfs, _ := r.Lookup("CUSTOMFIELDS")
	list, _ := cfs.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if name, _ := m["FIELD_NAME"].(string); strings.EqualFold(name, path) {
			return m["FIELD_VALUE"], true
		}
	}
	return nil, false
}

// decodePage splits a list response into records. Insightly answers lists
// with a bare JSON array; anything else is an error, not an empty page.
func decodePage(body []byte) ([]*element.Record, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, err
	}
	recs := make([]*element.Record, len(raws))
	for i, raw := range raws {
		recs[i] = element.NewRecord(raw)
	}
	return recs, nil
}
