package element

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
)

// Record is one upstream record. Raw is the record exactly as the upstream
// sent it (records pass through with their native field names and order);
// Fields decodes it on first use, numbers as json.Number so IDs and
// amounts stay exact.
type Record struct {
	Raw json.RawMessage

	once   sync.Once
	fields map[string]any
	err    error
}

// NewRecord wraps raw JSON.
func NewRecord(raw json.RawMessage) *Record { return &Record{Raw: raw} }

var errNotObject = errors.New("element: record is not a JSON object")

// Fields is the decoded record; an error if Raw is not a JSON object.
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

// Lookup finds a field by dot path, as Cloud Elements' idField and date
// fields name them ("user.id"); array elements by index ("LINKS.0.LINK_ID").
func (r *Record) Lookup(path string) (any, bool) {
	fields, err := r.Fields()
	if err != nil {
		return nil, false
	}
	var v any = fields
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
func (r *Record) ID(path string) (int64, bool) {
	v, ok := r.Lookup(path)
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case json.Number:
		id, err := n.Int64()
		return id, err == nil
	case string:
		id, err := strconv.ParseInt(n, 10, 64)
		return id, err == nil
	}
	return 0, false
}
