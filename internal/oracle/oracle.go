// Package oracle checks reported events against the Insightly simulator's
// change journal: design.md's "What correct means", for tests and for
// `pollhook bench soak`, which checks what its receiver got.
package oracle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// Resource pairs a polled resource with the simulator object it reads.
type Resource struct {
	Name    string // "contacts"
	Object  string // "Contacts"
	Deletes bool   // delete detection is on: deletions must be reported
	// Initial, when set, holds the object's records as they were when
	// polling began, by ID (the simulator's Records then): real versions
	// the journal does not hold (the simulator seeds records without
	// journalling them). A window reaching back before polling began
	// reports those still at that version, so an event may match one if
	// it is marked Backfill (an operator asked for it), or if its date is
	// after InitialAfter: the earliest a normal window reached back (the
	// enable time on the upstream's clock less the first window's margin,
	// or earlier once a wide overlap or pollDelay on a young poll reached
	// before polling began). Zero: only backfilled events may.
	Initial      map[string]map[string]any
	InitialAfter time.Time

	// Snapshots, Fields, IgnoreFields and Filter are the resource's
	// configuration of the same names: CheckChanges holds the events to
	// them, and Check leaves completeness to it when they suppress
	// anything.
	Snapshots            bool
	Fields, IgnoreFields []string
	Filter               string
	// BaselineSeq is the journal's last Seq when the baseline scan ended:
	// a record that did not change up to it was observed at the version
	// it had when polling began (Initial).
	BaselineSeq int64
	// RequireDiffs: every record's last version was observed from event
	// DiffsAfter (a store.Event Seq) on, so every later UPDATED must carry
	// changedFields.
	RequireDiffs bool
	DiffsAfter   int64
}

func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.Decode(&out)
	return out
}

func content(providerData string) any {
	var v any
	json.Unmarshal([]byte(providerData), &v)
	return normalize(v)
}

// Check returns every violation of the rules, for the journal's changes
// with Seq > since (the changes made after polling began):
//   - every event is a real version of its record (some write produced
//     exactly its content, or it is the record as it was when polling
//     began, reported by a backfill or by a window that reached back that
//     far: Resource.Initial), and no version is reported twice;
//   - an object has at most one CREATED, and it is its first event;
//   - every object changed after polling began that still exists has its
//     final version as its last event (the caller has polled after the
//     last change: nothing was missed).
//
// For resources with deletes, also: an object has at most one DELETED, as
// its last event, and only if it was deleted; and every deleted object that
// was known (it existed when polling began, or was reported since) has one.
//
// For a resource with fields, ignoreFields or a filter, completeness (the
// last two rules; the last one only with a filter) is CheckChanges'.
func Check(events []*store.Event, journal []sim.Change, since int64, resources []Resource) []string {
	var out []string
	byObject := map[string][]*store.Event{}
	for _, e := range events {
		byObject[e.Resource+"/"+e.ObjectID] = append(byObject[e.Resource+"/"+e.ObjectID], e)
	}
	for _, r := range resources {
		writes := map[string][]sim.Change{}
		changed := map[string]bool{}
		for _, c := range journal {
			if c.Object != r.Object {
				continue
			}
			id := strconv.FormatInt(c.ID, 10)
			writes[id] = append(writes[id], c)
			if c.Seq > since {
				changed[id] = true
			}
		}
		for key, evs := range byObject {
			if len(key) <= len(r.Name) || key[:len(r.Name)+1] != r.Name+"/" {
				continue
			}
			id := key[len(r.Name)+1:]
			seen := map[string]bool{}
			for i, e := range evs {
				if e.Type == "CREATED" && i != 0 {
					out = append(out, fmt.Sprintf("%s: CREATED is event %d, not the first", key, i+1))
				}
				if e.Type == "DELETED" {
					w := writes[id]
					switch {
					case !r.Deletes:
						out = append(out, fmt.Sprintf("%s: a DELETED event without delete detection", key))
					case i != len(evs)-1:
						out = append(out, fmt.Sprintf("%s: DELETED is event %d of %d, not the last", key, i+1, len(evs)))
					case len(w) == 0 || w[len(w)-1].Op != sim.OpDelete:
						out = append(out, fmt.Sprintf("%s: DELETED, but the record exists", key))
					}
					continue
				}
				got := content(e.ProviderData)
				match := false
				for _, c := range writes[id] {
					if c.Op != sim.OpDelete && reflect.DeepEqual(normalize(c.Record), got) {
						match = true
						break
					}
				}
				reached := e.Backfill || (!r.InitialAfter.IsZero() && e.Date.After(r.InitialAfter))
				if init, ok := r.Initial[id]; !match && ok && reached {
					match = reflect.DeepEqual(normalize(init), got)
				}
				if !match {
					out = append(out, fmt.Sprintf("%s: event %d (%s, %s) matches no version in the journal", key, i+1, e.Type, e.Date))
				}
				v := e.Date.String() + e.ProviderData
				if seen[v] {
					out = append(out, fmt.Sprintf("%s: a version was reported twice", key))
				}
				seen[v] = true
			}
		}
		for id, w := range writes {
			last := w[len(w)-1]
			if last.Op != sim.OpDelete || !r.Deletes || r.Filter != "" {
				continue
			}
			evs := byObject[r.Name+"/"+id]
			existedAtStart := w[0].Op != sim.OpCreate || w[0].Seq <= since
			if (existedAtStart || len(evs) > 0) && (len(evs) == 0 || evs[len(evs)-1].Type != "DELETED") {
				out = append(out, fmt.Sprintf("%s/%s was deleted (at %s) and no DELETED event ends its events", r.Name, id, last.At))
			}
		}
		for id := range changed {
			if r.rules() {
				break // CheckChanges holds the completeness of what rules suppress
			}
			w := writes[id]
			last := w[len(w)-1]
			if last.Op == sim.OpDelete {
				continue
			}
			evs := byObject[r.Name+"/"+id]
			if len(evs) == 0 {
				out = append(out, fmt.Sprintf("%s/%s changed (last %s at %s) and was never reported", r.Name, id, last.Op, last.At))
				continue
			}
			if !reflect.DeepEqual(content(evs[len(evs)-1].ProviderData), normalize(last.Record)) {
				out = append(out, fmt.Sprintf("%s/%s: the last event is not the final version", r.Name, id))
			}
		}
	}
	return out
}
