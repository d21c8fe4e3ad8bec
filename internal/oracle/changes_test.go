package oracle

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/changes"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// A contact's versions: v0 when polling began, then v1 (CITY w → x), v2
// (a no-op PUT), v3 (NAME and CITY). Contact 2 is deleted.
var (
	v0 = map[string]any{"CONTACT_ID": 1, "NAME": "a", "CITY": "w", "DATE_UPDATED_UTC": "2026-03-01 12:00:00"}
	v1 = map[string]any{"CONTACT_ID": 1, "NAME": "a", "CITY": "x", "DATE_UPDATED_UTC": "2026-03-01 12:01:00"}
	v2 = map[string]any{"CONTACT_ID": 1, "NAME": "a", "CITY": "x", "DATE_UPDATED_UTC": "2026-03-01 12:02:00"}
	v3 = map[string]any{"CONTACT_ID": 1, "NAME": "b", "CITY": "y", "DATE_UPDATED_UTC": "2026-03-01 12:03:00"}
	d0 = map[string]any{"CONTACT_ID": 2, "NAME": "c", "CITY": "y", "DATE_UPDATED_UTC": "2026-03-01 11:00:00"}

	n0 = map[string]any{"CONTACT_ID": 3, "NAME": "n", "CITY": "w", "DATE_UPDATED_UTC": "2026-03-01 12:04:00"}
	n1 = map[string]any{"CONTACT_ID": 3, "NAME": "n", "CITY": "x", "DATE_UPDATED_UTC": "2026-03-01 12:05:00"}
	n2 = map[string]any{"CONTACT_ID": 3, "NAME": "o", "CITY": "x", "DATE_UPDATED_UTC": "2026-03-01 12:06:00"}

	testJournal = []sim.Change{
		{Seq: 1, Object: "Contacts", ID: 1, Op: sim.OpUpdate, Record: v1},
		{Seq: 2, Object: "Contacts", ID: 1, Op: sim.OpUpdate, Record: v2},
		{Seq: 3, Object: "Contacts", ID: 1, Op: sim.OpUpdate, Record: v3},
		{Seq: 4, Object: "Contacts", ID: 2, Op: sim.OpDelete, Record: d0},
	}
)

func diffOf(t *testing.T, a, b map[string]any) map[string]changes.Change {
	return changes.Diff(recordFields(a), recordFields(b))
}

func event(t *testing.T, seq int64, typ string, rec map[string]any, diff map[string]changes.Change) *store.Event {
	t.Helper()
	data, _ := json.Marshal(rec)
	id, _ := json.Marshal(rec["CONTACT_ID"])
	e := &store.Event{Seq: seq, Resource: "contacts", ObjectID: string(id), Type: typ, Date: time.Unix(seq, 0), ProviderData: string(data)}
	if diff != nil {
		e.ChangedFields, _ = json.Marshal(diff)
	}
	return e
}

func testResource(change func(*Resource)) Resource {
	r := Resource{Name: "contacts", Object: "Contacts", Deletes: true, Snapshots: true,
		Initial: map[string]map[string]any{"1": v0, "2": d0}}
	change(&r)
	return r
}

// Each check of CheckChanges catches what it is for, and passes events
// that keep the rules.
func TestCheckChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      func(*Resource)
		events func(t *testing.T) []*store.Event
		want   []string // a substring of each violation, in order
	}{
		{"right diffs", func(*Resource) {}, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, diffOf(t, v0, v1)), event(t, 2, "UPDATED", v3, diffOf(t, v1, v3)),
				event(t, 3, "DELETED", d0, nil)}
		}, nil},
		{"a diff with a field too few", func(*Resource) {}, func(t *testing.T) []*store.Event {
			d := diffOf(t, v1, v3)
			delete(d, "CITY")
			return []*store.Event{event(t, 1, "UPDATED", v3, d)}
		}, []string{"is not the diff"}},
		{"a wrong before", func(*Resource) {}, func(t *testing.T) []*store.Event {
			d := diffOf(t, v1, v3)
			d["CITY"] = changes.Change{Before: json.RawMessage(`"q"`), After: d["CITY"].After}
			return []*store.Event{event(t, 1, "UPDATED", v3, d)}
		}, []string{"is not the diff"}},
		{"a before that came later", func(*Resource) {}, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, diffOf(t, v3, v1))}
		}, []string{"is not the diff"}},
		{"a before older than the version reported", func(*Resource) {}, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v2, diffOf(t, v0, v2)), event(t, 2, "UPDATED", v3, diffOf(t, v1, v3))}
		}, []string{"event 2 (UPDATED"}},
		{"no diff though observed", func(r *Resource) { r.RequireDiffs, r.DiffsAfter = true, 1 }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, nil), event(t, 2, "UPDATED", v3, nil)}
		}, []string{"event 2 (UPDATED"}},
		{"only ignored fields", func(r *Resource) { r.IgnoreFields = []string{"DATE_UPDATED_UTC"} }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v2, diffOf(t, v1, v2)), event(t, 2, "UPDATED", v3, diffOf(t, v2, v3))}
		}, []string{"only ignored fields changed"}},
		{"ignored: an empty diff", func(r *Resource) { r.IgnoreFields = []string{"DATE_UPDATED_UTC"} }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v3, diffOf(t, v3, v3))}
		}, []string{"is not the diff", "only ignored fields changed"}},
		{"ignored: the final change missed", func(r *Resource) { r.IgnoreFields = []string{"DATE_UPDATED_UTC"} }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, diffOf(t, v0, v1))}
		}, []string{"differs in CITY, NAME"}},
		{"fields: none changed", func(r *Resource) { r.Fields = []string{"CITY"} }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, diffOf(t, v0, v1)), event(t, 2, "UPDATED", v2, diffOf(t, v1, v2)),
				event(t, 3, "UPDATED", v3, diffOf(t, v2, v3))}
		}, []string{"none of the fields changed"}},
		{"fields: the last trigger missed", func(r *Resource) { r.Fields = []string{"CITY"} }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, diffOf(t, v0, v1))}
		}, []string{"differs in CITY from"}},
		{"fields: never reported, baseline saw v0", func(r *Resource) { r.Fields = []string{"CITY"} }, func(t *testing.T) []*store.Event {
			return nil
		}, []string{"differs in CITY from"}},
		{"fields: changed before the baseline ended", func(r *Resource) { r.Fields = []string{"CITY"}; r.BaselineSeq = 1 }, func(t *testing.T) []*store.Event {
			return nil
		}, nil},
		{"filter: right", func(r *Resource) { r.Filter = "CITY = 'x'" }, func(t *testing.T) []*store.Event {
			// v1 enters the set, v3 leaves it; d0 never matched.
			return []*store.Event{event(t, 1, "UPDATED", v1, nil), event(t, 2, "UPDATED", v3, diffOf(t, v2, v3))}
		}, nil},
		{"filter: not matching, unknown before", func(r *Resource) { r.Filter = "CITY = 'x'" }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, nil), event(t, 2, "UPDATED", v3, nil)}
		}, []string{"previous version is unknown"}},
		{"filter: neither matches", func(r *Resource) { r.Filter = "CITY = 'y'" }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v1, diffOf(t, v0, v1)), event(t, 2, "UPDATED", v3, diffOf(t, v1, v3)),
				event(t, 3, "DELETED", d0, nil)}
		}, []string{"neither its content nor"}},
		{"filter: final matching version missed", func(r *Resource) { r.Filter = "NAME = 'b'" }, func(t *testing.T) []*store.Event {
			return nil
		}, []string{"1: the final version"}},
		{"filter: final matching version never reported", func(r *Resource) { r.Filter = "NAME = 'b'"; r.BaselineSeq = 4 }, func(t *testing.T) []*store.Event {
			return nil
		}, []string{"1 changed (last update"}},
		{"filter: a DELETED not matching", func(r *Resource) { r.Filter = "NAME = 'b'" }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v3, diffOf(t, v0, v3)), event(t, 2, "DELETED", d0, nil)}
		}, []string{"DELETED): its last observed version does not match"}},
		{"filter: a deleted match not reported", func(r *Resource) { r.Filter = "CITY = 'y'" }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "UPDATED", v3, diffOf(t, v2, v3))}
		}, []string{"2 was deleted"}},
		{"filter: a CREATED not matching", func(r *Resource) { r.Filter = "CITY = 'y'" }, func(t *testing.T) []*store.Event {
			return []*store.Event{event(t, 1, "CREATED", v1, nil), event(t, 2, "UPDATED", v3, diffOf(t, v1, v3)), event(t, 3, "DELETED", d0, nil)}
		}, []string{"(CREATED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckChanges(tc.events(t), testJournal, []Resource{testResource(tc.r)})
			if len(got) != len(tc.want) {
				t.Fatalf("violations %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d: %q, want one with %q", i, got[i], w)
				}
			}
		})
	}
}

// Check leaves completeness to CheckChanges when rules suppress events.
func TestCheckLeavesSuppressionToCheckChanges(t *testing.T) {
	events := []*store.Event{event(t, 1, "UPDATED", v1, nil)}
	plain := testResource(func(*Resource) {})
	if got := Check(events, testJournal, 0, []Resource{plain}); len(got) != 2 {
		t.Errorf("without rules: %q, want the final version and the deletion missed", got)
	}
	ruled := testResource(func(r *Resource) { r.Filter = "CITY = 'x'" })
	if got := Check(events, testJournal, 0, []Resource{ruled}); len(got) != 0 {
		t.Errorf("with a filter: %q, want none", got)
	}
}

// A record created after the baseline may first be reported as an UPDATED
// without changedFields (it was read first after an update), not later.
func TestCheckChangesCreatedAfterBaseline(t *testing.T) {
	journal := append(slices.Clone(testJournal),
		sim.Change{Seq: 5, Object: "Contacts", ID: 3, Op: sim.OpCreate, Record: n0},
		sim.Change{Seq: 6, Object: "Contacts", ID: 3, Op: sim.OpUpdate, Record: n1},
		sim.Change{Seq: 7, Object: "Contacts", ID: 3, Op: sim.OpUpdate, Record: n2})
	r := testResource(func(r *Resource) { r.RequireDiffs = true })
	events := []*store.Event{event(t, 1, "UPDATED", n1, nil), event(t, 2, "UPDATED", n2, nil)}
	got := CheckChanges(events, journal, []Resource{r})
	if len(got) != 1 || !strings.Contains(got[0], "3: event 2 (UPDATED") {
		t.Errorf("violations %q, want one: event 2 without changedFields", got)
	}
	events[1] = event(t, 2, "UPDATED", n2, diffOf(t, n1, n2))
	if got := CheckChanges(events, journal, []Resource{r}); len(got) != 0 {
		t.Errorf("violations %q, want none", got)
	}
}
