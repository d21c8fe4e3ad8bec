package insightly

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// customFields is the key of a record's custom field list.
const customFields = "CUSTOMFIELDS"

// FieldsOf flattens an Insightly record into its fields as CEQL names
// them: every native top-level key as sent (OPPORTUNITY_STATE, TAGS,
// LINKS: arrays and objects are one value each), and every CUSTOMFIELDS
// entry {"FIELD_NAME": "Hobby__c", "FIELD_VALUE": v} as Hobby__c with
// value v (null when FIELD_VALUE is absent). CUSTOMFIELDS itself is not a
// field.
//
// Values are the JSON as sent, not canonicalised. Names are as sent.
// Custom field names match case-insensitively, as [lookup] and Insightly
// match them: a native key wins over a custom field of the same name, and
// the first of two entries whose names differ only in case wins.
//
// It fails when raw is not a JSON object, when CUSTOMFIELDS is neither an
// array nor null, or when an entry is not an object with a string
// FIELD_NAME.
func FieldsOf(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("insightly: record: %w", err)
	}
	if top == nil {
		return nil, errors.New("insightly: record is not a JSON object")
	}
	out := make(map[string]json.RawMessage, len(top))
	for k, v := range top {
		if k != customFields {
			out[k] = v
		}
	}
	cfs := top[customFields]
	if cfs == nil || bytes.Equal(bytes.TrimSpace(cfs), []byte("null")) {
		return out, nil
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(cfs, &entries); err != nil {
		return nil, fmt.Errorf("insightly: record: %s is not an array: %w", customFields, err)
	}
	taken := make(map[string]bool, len(entries)) // lower-cased custom names
	for i, e := range entries {
		var entry struct {
			Name  *string         `json:"FIELD_NAME"`
			Value json.RawMessage `json:"FIELD_VALUE"`
		}
		if err := json.Unmarshal(e, &entry); err != nil || entry.Name == nil || *entry.Name == "" ||
			bytes.Equal(bytes.TrimSpace(e), []byte("null")) {
			return nil, fmt.Errorf("insightly: record: %s[%d] is not an object with a FIELD_NAME", customFields, i)
		}
		name := *entry.Name
		lower := strings.ToLower(name)
		if _, native := top[name]; native || taken[lower] {
			continue
		}
		taken[lower] = true
		if entry.Value == nil {
			entry.Value = json.RawMessage("null")
		}
		out[name] = entry.Value
	}
	return out, nil
}

// FieldsOf implements element.FieldNamer.
func (*conn) FieldsOf(raw json.RawMessage) (map[string]json.RawMessage, error) { return FieldsOf(raw) }
