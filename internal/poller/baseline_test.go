package poller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/pollconfig"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// snapshotWorld is a small world whose contacts keep snapshots, with
// rules, after a first poll.
func snapshotWorld(t *testing.T, seed uint64, rules func(*pollconfig.Resource)) *world {
	t.Helper()
	w := newWorldWith(t, seed, "sqlite:"+filepath.Join(t.TempDir(), "db"), worldOptions{records: 10})
	r := *w.config.Resources["contacts"]
	r.Snapshots, r.Deletes.Enabled, r.Deletes.Interval = true, true, time.Hour
	rules(&r)
	w.config.Resources["contacts"] = &r
	w.reconfigure(func(*pollconfig.Resource) {})
	w.runner.crash = nil
	w.clock.Advance(5 * time.Second)
	w.runAll("first")
	return w
}

// simCall makes one request of the world's simulator, as a client of the
// account would.
func simCall(t *testing.T, w *world, method, path string, body any) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	req.SetBasicAuth(w.sim.APIKey(), "")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	w.sim.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

// firstContact is the simulator's first contact's id, as the simulator
// takes it and as events carry it.
func firstContact(t *testing.T, w *world) (any, string) {
	t.Helper()
	recs, err := w.sim.Records(w.sim.APIKey(), "Contacts")
	if err != nil || len(recs) == 0 {
		t.Fatalf("contacts: %v", err)
	}
	return recs[0]["CONTACT_ID"], fmt.Sprint(recs[0]["CONTACT_ID"])
}

// A baseline runs after the poll that found snapshots turned on. A change
// the next poll will read must not be taken for the last observed
// version, or the next poll diffs it against itself: empty changedFields,
// and with ignoreFields or fields the change is suppressed, lost. Two
// clocks meet here: a change made after the poll but before the baseline
// reads the record, and a write made before the poll that the upstream
// shows only later (a late write, dated within the overlap).
func TestBaselineLeavesTheNextPollsChangesUnobserved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		rules func(*pollconfig.Resource)
	}{
		{"no rules", func(*pollconfig.Resource) {}},
		{"ignoreFields", func(r *pollconfig.Resource) { r.IgnoreFields = []string{"DATE_UPDATED_UTC"} }},
		{"fields", func(r *pollconfig.Resource) { r.Fields = []string{"TITLE"} }},
	} {
		for _, when := range []string{"after the poll", "late write"} {
			t.Run(tc.name+", "+when, func(t *testing.T) {
				t.Parallel()
				w := snapshotWorld(t, 42, tc.rules)
				key, id := firstContact(t, w)
				change := map[string]any{"CONTACT_ID": key, "TITLE": "Changed before the baseline"}
				if when == "late write" {
					// Written now, shown by the upstream only after the
					// next poll read, dated before that poll's cursor.
					w.sim.SetFaults(sim.Faults{LateNext: 1, LateNextDelay: sim.Duration(3 * time.Second)})
					w.clock.Advance(time.Second)
					simCall(t, w, "PUT", "/v3.1/Contacts", change)
					w.clock.Advance(time.Second)
					w.runAll("the poll before the late write shows")
					w.clock.Advance(3 * time.Second)
				} else {
					w.clock.Advance(2 * time.Second)
					simCall(t, w, "PUT", "/v3.1/Contacts", change)
					w.clock.Advance(2 * time.Second)
				}
				if _, err := w.runner.Baseline(context.Background(), w.target("contacts")); err != nil {
					t.Fatal(err)
				}
				w.clock.Advance(time.Minute)
				w.runAll("after the baseline")

				var reported []*store.Event
				for _, e := range w.events() {
					if e.Resource == "contacts" && e.ObjectID == id && strings.Contains(e.ProviderData, "Changed before the baseline") {
						reported = append(reported, e)
					}
				}
				if len(reported) != 1 {
					t.Fatalf("the change of contact %s was reported %d times, want once", id, len(reported))
				}
				if cf := reported[0].ChangedFields; len(cf) > 0 && !strings.Contains(string(cf), `"TITLE"`) {
					t.Errorf("its changedFields %s leave out TITLE", cf)
				}
			})
		}
	}
}

// A DELETED of a record with snapshots carries its last observed version
// in raw, and no copy of the record outlives it: the snapshot goes with
// the DELETED's commit.
func TestDeletedCarriesTheLastObservedVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := snapshotWorld(t, 43, func(*pollconfig.Resource) {})
	if _, err := w.runner.Baseline(ctx, w.target("contacts")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.runner.ScanDeletes(ctx, w.target("contacts")); err != nil {
		t.Fatal(err)
	}
	key, id := firstContact(t, w)
	// A version observed by a poll, then the record is deleted.
	w.clock.Advance(2 * time.Second)
	simCall(t, w, "PUT", "/v3.1/Contacts", map[string]any{"CONTACT_ID": key, "TITLE": "Last observed"})
	w.clock.Advance(time.Minute)
	w.runAll("the change")
	simCall(t, w, "DELETE", "/v3.1/Contacts/"+id, nil)
	w.clock.Advance(time.Minute)
	if _, err := w.runner.ScanDeletes(ctx, w.target("contacts")); err != nil {
		t.Fatal(err)
	}
	var deleted []*store.Event
	for _, e := range w.events() {
		if e.Type == "DELETED" && e.ObjectID == id {
			deleted = append(deleted, e)
		}
	}
	if len(deleted) != 1 {
		t.Fatalf("%d DELETED of contact %s, want 1", len(deleted), id)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(deleted[0].ProviderData), &raw); err != nil || raw["TITLE"] != "Last observed" {
		t.Errorf("the DELETED's raw is not the last observed version: %.200s (%v)", deleted[0].ProviderData, err)
	}
	seen, err := w.store.SeenFor(ctx, w.instID, "contacts", []string{id})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := seen[id]; ok {
		t.Errorf("the deleted record's state is kept (%d bytes of snapshot)", len(s.Snapshot))
	}
}
