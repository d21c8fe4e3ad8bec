package insightly

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
)

// Record is one Insightly record. Raw is the record exactly as Insightly
// sent it (records pass through pollhook with their native field names and
// order); Fields decodes it on first use, numbers as json.Number so IDs
// and amounts stay exact.
type Record struct {
	Raw json.RawMessage

	once   sync.Once
	fields map[string]any
	err    error
}

// NewRecord wraps raw JSON.
func NewRecord(raw json.RawMessage) *Record { return &Record{Raw: raw} }

// Fields is the decoded record; nil if Raw is not a JSON object.
func (r *Record) Fields() (map[string]any, error) {
	r.once.Do(func() {
		dec := json.NewDecoder(bytes.NewReader(r.Raw))
		dec.UseNumber()
		r.err = dec.Decode(&r.fields)
		if r.err == nil && r.fields == nil {
			r.err = errNotObject
		}
	})
	return r.fields, r.err
}

var errNotObject = errors.New("insightly: record is not a JSON object")

// Lookup finds a field by dot path ("LINKS.0.LINK_ID" works on arrays by
// index). A custom field is found by its name, top level or not:
// "Hobby__c" looks in CUSTOMFIELDS for FIELD_NAME Hobby__c.
func (r *Record) Lookup(path string) (any, bool) {
	fields, err := r.Fields()
	if err != nil {
		return nil, false
	}
	if v, ok := lookupPath(fields, path); ok {
		return v, true
	}
	if strings.HasSuffix(path, "__c") && !strings.Contains(path, ".") {
		cfs, _ := fields["CUSTOMFIELDS"].([]any)
		for _, e := range cfs {
			m, _ := e.(map[string]any)
			if name, _ := m["FIELD_NAME"].(string); strings.EqualFold(name, path) {
				return m["FIELD_VALUE"], true
			}
		}
	}
	return nil, false
}

func lookupPath(v any, path string) (any, bool) {
	for part := range strings.SplitSeq(path, ".") {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[part]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(cur) {
				return nil, false
			}
			v = cur[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// ID reads an integer key such as CONTACT_ID.
func (r *Record) ID(pk string) (int64, bool) {
	v, ok := r.Lookup(pk)
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case json.Number:
		id, err := n.Int64()
		return id, err == nil
	case string: // a few objects key by name (COUNTRY_NAME…)
		id, err := strconv.ParseInt(n, 10, 64)
		return id, err == nil
	}
	return 0, false
}

// decodePage splits a list response into records. Insightly answers lists
// with a bare JSON array; anything else is an error, not an empty page.
func decodePage(body []byte) ([]*Record, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, err
	}
	recs := make([]*Record, len(raws))
	for i, raw := range raws {
		recs[i] = NewRecord(raw)
	}
	return recs, nil
}
