package oracle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/changes"
	"github.com/pollhook/pollhook/internal/element/insightly"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// rules says whether r suppresses anything: fields, ignoreFields or a
// filter. Check leaves the completeness of such a resource to
// CheckChanges.
func (r Resource) rules() bool {
	return len(r.Fields) > 0 || len(r.IgnoreFields) > 0 || r.Filter != ""
}

// flatten is a record's fields as the poller names and compares them.
var flatten = changes.Flatten(insightly.FieldsOf)

func fieldsOf(raw []byte) (changes.Fields, error) { return flatten.Fields(raw) }

func recordFields(rec map[string]any) changes.Fields {
	b, _ := json.Marshal(rec)
	f, err := fieldsOf(b)
	if err != nil {
		panic("oracle: a journalled record does not flatten: " + err.Error())
	}
	return f
}

// same says whether two versions are one value, field by field.
func same(a, b changes.Fields) bool { return len(changes.Diff(a, b)) == 0 }

// sameDiff says whether two diffs name the same fields with the same
// values (canonical).
func sameDiff(a, b map[string]changes.Change) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || !bytes.Equal(canon(x.Before), canon(y.Before)) || !bytes.Equal(canon(x.After), canon(y.After)) {
			return false
		}
	}
	return true
}

func canon(raw json.RawMessage) json.RawMessage {
	c, err := changes.Canonical(raw)
	if err != nil {
		return raw
	}
	return c
}

// named says whether list names field as the rules do: native names
// exactly, custom fields (…__c) in any case.
func named(list []string, field string) bool {
	custom := func(s string) bool { return len(s) > 3 && strings.EqualFold(s[len(s)-3:], "__c") }
	for _, n := range list {
		if n == field || (custom(n) && custom(field) && strings.EqualFold(n, field)) {
			return true
		}
	}
	return false
}

// version is one version of a record: Seq 0 for the one polling began with.
type version struct {
	seq    int64
	fields changes.Fields
}

// CheckChanges returns every violation of the snapshot rules for the
// resources with Snapshots or a Filter (Check holds the rest; for a
// resource with fields, ignoreFields or a filter, Check leaves
// completeness to this):
//
//   - every UPDATED's changedFields is exactly changes.Diff of two versions
//     of its record, fields named as insightly.FieldsOf names them: the
//     event's content (the afters) and an earlier one (the befores: the
//     version polling began with, or one that precedes the event's in the
//     journal, and none older than the version reported before it); with
//     RequireDiffs, every UPDATED after event DiffsAfter
//     has changedFields, but the first event of a record created after the
//     baseline (first read after an update: nothing observed before it);
//   - with IgnoreFields, every UPDATED with changedFields has a changed
//     field outside them (so none has an empty diff); with Fields, a
//     changed field among them;
//   - with a Filter: a CREATED's content matches it; an UPDATED's content
//     matches, or it carries changedFields and the version before matched
//     (it left the set); a DELETED carrying a record (its last observed
//     version) carries one that matches;
//   - completeness, for every record changed after polling began that
//     still exists and whose final version matches the filter (if any),
//     for a resource with fields, ignoreFields or a filter:
//     the trigger fields' values (Fields, or every field but IgnoreFields,
//     or every field) of its final version equal those of the last version
//     reported of it; when none was reported, those of the version it had
//     when polling began, if it did not change before the baseline ended
//     (journal Seq <= BaselineSeq; else nothing is required, but a record
//     created after polling began must be reported without a filter, and
//     with one, if its final version matches);
//   - with a Filter and Snapshots but no Fields or IgnoreFields, a record
//     whose final version does not match, and whose last version reported
//     (or observed by the baseline) did, was reported leaving the set: the
//     last version reported of it does not match;
//   - with a Filter and deletes, a deleted record ends with a DELETED when
//     the poller must have known it matched: its last event is its final
//     version and matches, or every version it had matches and it existed
//     when polling began or was reported.
func CheckChanges(events []*store.Event, journal []sim.Change, resources []Resource) []string {
	var out []string
	for _, r := range resources {
		if !r.Snapshots && r.Filter == "" {
			continue
		}
		out = append(out, checkChanges(events, journal, r)...)
	}
	return out
}

func checkChanges(events []*store.Event, journal []sim.Change, r Resource) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, r.Name+"/"+fmt.Sprintf(format, args...)) }
	var rules changes.Rules
	if r.Filter != "" {
		f, err := changes.Compile(r.Filter)
		if err != nil {
			return []string{fmt.Sprintf("%s: filter: %v", r.Name, err)}
		}
		rules.Filter = f
	}
	match := func(f changes.Fields) bool {
		ok, err := rules.Match(f)
		return ok && err == nil
	}
	trigger := func(field string) bool {
		return (len(r.Fields) == 0 || named(r.Fields, field)) && !named(r.IgnoreFields, field)
	}
	triggered := func(diff map[string]changes.Change) bool {
		for k := range diff {
			if trigger(k) {
				return true
			}
		}
		return false
	}

	// Every version of every record, in order (the one polling began with
	// first); each record's last change.
	versions := map[string][]version{}
	for id, rec := range r.Initial {
		versions[id] = []version{{0, recordFields(rec)}}
	}
	final := map[string]sim.Change{}
	created := map[string]bool{}
	createdLater := map[string]bool{} // created after the baseline
	for _, c := range journal {
		if c.Object != r.Object {
			continue
		}
		id := strconv.FormatInt(c.ID, 10)
		final[id] = c
		if c.Op == sim.OpCreate {
			created[id] = true
			createdLater[id] = c.Seq > r.BaselineSeq
		}
		if c.Op != sim.OpDelete {
			versions[id] = append(versions[id], version{c.Seq, recordFields(c.Record)})
		}
	}
	byObject := map[string][]*store.Event{}
	for _, e := range events {
		if e.Resource == r.Name {
			byObject[e.ObjectID] = append(byObject[e.ObjectID], e)
		}
	}

	ids := slices.Sorted(maps.Keys(byObject))
	for _, id := range ids {
		var prev changes.Fields // the version reported last before the event
		for i, e := range byObject[id] {
			got, err := fieldsOf([]byte(e.ProviderData))
			if err != nil {
				bad("%s: event %d (%s): content does not flatten: %v", id, i+1, e.Type, err)
				continue
			}
			var diff map[string]changes.Change
			if len(e.ChangedFields) > 0 && string(e.ChangedFields) != "null" {
				if err := json.Unmarshal(e.ChangedFields, &diff); err != nil || diff == nil {
					bad("%s: event %d (%s): changedFields %s is not an object of changes", id, i+1, e.Type, e.ChangedFields)
					continue
				}
				if e.Type != "UPDATED" {
					bad("%s: event %d: a %s with changedFields", id, i+1, e.Type)
				}
			}
			switch e.Type {
			case "UPDATED":
				if diff == nil {
					// A record created after the baseline is unknown until
					// first read: updated by then, its first event is an
					// UPDATED with no previous version.
					if r.RequireDiffs && e.Seq > r.DiffsAfter && (i > 0 || !createdLater[id]) {
						bad("%s: event %d (UPDATED, %s) has no changedFields, and its previous version was observed", id, i+1, e.Date)
					}
				} else {
					if !diffOfVersions(versions[id], prev, got, diff) {
						bad("%s: event %d (UPDATED, %s): changedFields %s is not the diff of an earlier version and its content", id, i+1, e.Date, e.ChangedFields)
					}
					if len(r.IgnoreFields) > 0 && !slices.ContainsFunc(slices.Collect(maps.Keys(diff)), func(k string) bool { return !named(r.IgnoreFields, k) }) {
						bad("%s: event %d (UPDATED, %s) reported, and only ignored fields changed: %s", id, i+1, e.Date, e.ChangedFields)
					}
					if len(r.Fields) > 0 && !slices.ContainsFunc(slices.Collect(maps.Keys(diff)), func(k string) bool { return named(r.Fields, k) }) {
						bad("%s: event %d (UPDATED, %s) reported, and none of the fields changed: %s", id, i+1, e.Date, e.ChangedFields)
					}
				}
				if rules.Filter != nil && !match(got) {
					if diff == nil {
						bad("%s: event %d (UPDATED, %s): content does not match the filter, and its previous version is unknown", id, i+1, e.Date)
					} else if !match(before(got, diff)) {
						bad("%s: event %d (UPDATED, %s): neither its content nor the version before matches the filter", id, i+1, e.Date)
					}
				}
			case "CREATED":
				if rules.Filter != nil && !match(got) {
					bad("%s: event %d (CREATED, %s): content does not match the filter", id, i+1, e.Date)
				}
			case "DELETED":
				if rules.Filter != nil && len(got) > 1 && !match(got) {
					bad("%s: event %d (DELETED): its last observed version does not match the filter", id, i+1)
				}
			}
			if e.Type != "DELETED" {
				prev = got
			}
		}
	}

	// Completeness (Check's, when nothing is suppressed).
	if !r.rules() {
		return out
	}
	for _, id := range slices.Sorted(maps.Keys(final)) {
		last := final[id]
		evs := byObject[id]
		var reported changes.Fields // the last version reported
		for _, e := range slices.Backward(evs) {
			if e.Type != "DELETED" {
				reported, _ = fieldsOf([]byte(e.ProviderData))
				break
			}
		}
		if last.Op == sim.OpDelete {
			if rules.Filter == nil || !r.Deletes {
				continue // Check holds these
			}
			if len(evs) > 0 && evs[len(evs)-1].Type == "DELETED" {
				continue
			}
			gone := recordFields(last.Record)
			all := true
			for _, v := range versions[id] {
				all = all && match(v.fields)
			}
			_, atStart := r.Initial[id]
			switch {
			case reported != nil && same(reported, gone) && match(gone):
				bad("%s was deleted (at %s), its last event is its final version and matches the filter, and no DELETED ends its events", id, last.At)
			case all && (atStart || len(evs) > 0):
				bad("%s was deleted (at %s), every version of it matches the filter, and no DELETED ends its events", id, last.At)
			}
			continue
		}
		now := recordFields(last.Record)
		ref := reported // the last version reported, or observed by the baseline
		if ref == nil {
			if init, ok := r.Initial[id]; ok && versions[id][1].seq > r.BaselineSeq {
				ref = recordFields(init)
			}
		}
		if rules.Filter != nil && !match(now) {
			// It left the filter's set. With snapshots the poller knew the
			// version it left from, and without triggers (which are judged
			// first, and may have suppressed a version it then diffs from)
			// the leaving is reported: the last event does not match.
			if r.Snapshots && len(r.Fields) == 0 && len(r.IgnoreFields) == 0 && ref != nil && match(ref) {
				bad("%s left the filter's set (its final version, %s at %s, does not match), and the last version reported of it still matches",
					id, last.Op, last.At)
			}
			continue
		}
		if ref == nil {
			if rules.Filter != nil || created[id] {
				bad("%s changed (last %s at %s) and was never reported", id, last.Op, last.At)
			}
			continue
		}
		if d := changes.Diff(ref, now); triggered(d) {
			changed := slices.Sorted(maps.Keys(d))
			changed = slices.DeleteFunc(changed, func(k string) bool { return !trigger(k) })
			bad("%s: the final version (%s at %s) differs in %s from the last version reported (or observed by the baseline), and was not reported",
				id, last.Op, last.At, strings.Join(changed, ", "))
		}
	}
	return out
}

// diffOfVersions says whether diff is the diff between some version of vs
// and a later one with content got. When prev (the version reported before)
// is one of vs, the earlier version is not older than it: every version
// reported was observed, and a read older than the last observed version
// does not replace it.
func diffOfVersions(vs []version, prev, got changes.Fields, diff map[string]changes.Change) bool {
	from := 0
	if prev != nil {
		if k := slices.IndexFunc(vs, func(v version) bool { return same(v.fields, prev) }); k >= 0 {
			from = k
		}
	}
	for j, after := range vs {
		if !same(after.fields, got) {
			continue
		}
		for _, b := range vs[from:max(j, from)] {
			if sameDiff(changes.Diff(b.fields, after.fields), diff) {
				return true
			}
		}
	}
	return false
}

// before is the version diff says got came from: got with the befores.
func before(got changes.Fields, diff map[string]changes.Change) changes.Fields {
	out := maps.Clone(got)
	for k, c := range diff {
		if b := canon(c.Before); string(b) == "null" {
			delete(out, k)
		} else {
			out[k] = b
		}
	}
	return out
}
