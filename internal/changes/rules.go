package changes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/element/ceql"
)

// The event kinds, as the poller names them.
const (
	Created = "CREATED"
	Updated = "UPDATED"
	Deleted = "DELETED"
)

// Rules are a subscription's change triggers. The zero Rules report every
// event, as pollhook does without them: suppression is opt-in.
type Rules struct {
	// Fields, when set, reports an UPDATED only if one of these fields
	// changed.
	Fields []string
	// IgnoreFields, when set, suppresses an UPDATED whose changed fields
	// are all in this list (an Insightly PUT that only bumps
	// DATE_UPDATED_UTC).
	IgnoreFields []string
	// Filter, when not nil, reports only changes of records that match it
	// (see [Rules.FilterReports]). Build it with [Compile].
	Filter ceql.Expr
}

// Compile parses a filter predicate for [Rules.Filter]. An empty (or blank)
// filter is nil: no filter. A syntax error says its byte offset in the
// predicate and wraps the *ceql.Error, whose Pos and Snippet errors.As
// recovers.
func Compile(filter string) (ceql.Expr, error) {
	e, err := ceql.Parse(filter)
	if err != nil {
		return nil, fmt.Errorf("changes: filter is not valid CEQL: %w", err)
	}
	return e, nil
}

// isCustom tells a custom field name (…__c, any case), which CEQL's
// Insightly lookup matches case-insensitively.
func isCustom(name string) bool {
	return len(name) > 3 && strings.EqualFold(name[len(name)-3:], "__c")
}

// sameField tells whether a rule's name names field: exactly for native
// names, case-insensitively for custom fields.
func sameField(rule, field string) bool {
	return rule == field || (isCustom(rule) && isCustom(field) && strings.EqualFold(rule, field))
}

func named(list []string, field string) bool {
	return slices.ContainsFunc(list, func(r string) bool { return sameField(r, field) })
}

// Reports decides an UPDATED whose previous version is known, on its diff
// ([Diff] of the two versions):
//
//   - neither Fields nor IgnoreFields: true, even for an empty diff (an
//     UPDATED is reported as without rules; nothing is suppressed unless
//     asked);
//   - Fields only: true iff some changed field is in Fields;
//   - IgnoreFields only: true iff some changed field is not in
//     IgnoreFields (so false for an empty diff);
//   - both: both conditions hold.
//
// The filter is not consulted: see [Rules.FilterReports]. Names match as
// CEQL matches them: custom fields (…__c) case-insensitively, native
// fields exactly.
func (r Rules) Reports(diff map[string]Change) bool {
	if len(r.Fields) > 0 && !r.anyChanged(diff, func(f string) bool { return named(r.Fields, f) }) {
		return false
	}
	if len(r.IgnoreFields) > 0 && !r.anyChanged(diff, func(f string) bool { return !named(r.IgnoreFields, f) }) {
		return false
	}
	return true
}

func (Rules) anyChanged(diff map[string]Change, ok func(string) bool) bool {
	for f := range diff {
		if ok(f) {
			return true
		}
	}
	return false
}

// FilterReports decides an event of kind [Created], [Updated] or
// [Deleted] on the filter's result for the record's new version
// (matchesNow; ignored for DELETED) and for its last observed version
// (matchedBefore, nil when no previous version is known):
//
//   - no Filter: true;
//   - CREATED: matchesNow;
//   - UPDATED without a known previous version: matchesNow;
//   - UPDATED with one: matchesNow || *matchedBefore, so a record that
//     stops matching produces one UPDATED (the receiver learns it left the
//     set) and one that starts matching is reported as an UPDATED;
//   - DELETED: true without a known last version, else *matchedBefore;
//   - any other kind: true (an unknown event is not silently dropped).
func (r Rules) FilterReports(kind string, matchedBefore *bool, matchesNow bool) bool {
	if r.Filter == nil {
		return true
	}
	switch kind {
	case Created:
		return matchesNow
	case Updated:
		return matchesNow || (matchedBefore != nil && *matchedBefore)
	case Deleted:
		return matchedBefore == nil || *matchedBefore
	}
	return true
}

// Match evaluates the Filter (true when nil) against flattened fields with
// ceql.Eval. Values are decoded as encoding/json does with numbers as
// json.Number (exact, as the hub's records are). A field is found by its
// exact name, then, for a custom field name (…__c), case-insensitively
// (the smallest such name in byte order if several), then, for a dot path
// (LINKS.0.LINK_ID), by walking the value of its first segment, as
// element.Record.Lookup does. The Insightly hub's "tag" pseudo-field is not
// supported. The error is a ceql.ErrType type error, or a field value that
// is not valid JSON.
func (r Rules) Match(fields map[string]json.RawMessage) (bool, error) {
	if r.Filter == nil {
		return true, nil
	}
	var decodeErr error
	ok, err := ceql.Eval(r.Filter, func(field string) (any, bool) {
		v, found, err := lookup(fields, field)
		if err != nil && decodeErr == nil {
			decodeErr = err
		}
		return v, found
	})
	if decodeErr != nil {
		return false, decodeErr
	}
	return ok, err
}

func decode(name string, raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("changes: field %q is not valid JSON: %w", name, err)
	}
	return v, nil
}

func lookup(fields map[string]json.RawMessage, field string) (any, bool, error) {
	if raw, ok := fields[field]; ok {
		v, err := decode(field, raw)
		return v, err == nil, err
	}
	if isCustom(field) && !strings.Contains(field, ".") {
		best := ""
		for k := range fields {
			if strings.EqualFold(k, field) && (best == "" || k < best) {
				best = k
			}
		}
		if best != "" {
			v, err := decode(best, fields[best])
			return v, err == nil, err
		}
		return nil, false, nil
	}
	head, rest, ok := strings.Cut(field, ".")
	if !ok {
		return nil, false, nil
	}
	raw, ok := fields[head]
	if !ok {
		return nil, false, nil
	}
	v, err := decode(head, raw)
	if err != nil {
		return nil, false, err
	}
	for part := range strings.SplitSeq(rest, ".") {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[part]
			if !ok {
				return nil, false, nil
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(cur) {
				return nil, false, nil
			}
			v = cur[i]
		default:
			return nil, false, nil
		}
	}
	return v, true, nil
}

// Decide is the whole decision for one observed event. before is the last
// observed version's fields (nil when unknown), after the new version's
// (ignored for DELETED). It returns whether the event is reported and, for
// an UPDATED with a known previous version, its diff (the event's
// changedFields; nil otherwise). An UPDATED with a known previous version
// is reported iff [Rules.Reports] and [Rules.FilterReports] both hold; any
// other event on FilterReports alone. The error is Match's.
func (r Rules) Decide(kind string, before, after map[string]json.RawMessage) (bool, map[string]Change, error) {
	var diff map[string]Change
	if kind == Updated && before != nil {
		diff = Diff(before, after)
		if !r.Reports(diff) {
			return false, diff, nil
		}
	}
	if r.Filter == nil {
		return true, diff, nil
	}
	var matchedBefore *bool
	if before != nil && (kind == Updated || kind == Deleted) {
		m, err := r.Match(before)
		if err != nil {
			return false, diff, err
		}
		matchedBefore = &m
	}
	matchesNow := false
	if kind != Deleted {
		m, err := r.Match(after)
		if err != nil {
			return false, diff, err
		}
		matchesNow = m
	}
	return r.FilterReports(kind, matchedBefore, matchesNow), diff, nil
}
