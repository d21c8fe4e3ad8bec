package poller

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/oracle"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/store"
)

// The oracle's scenarios: situations the random runs reach rarely or
// never, each ending in the oracle's check. They use the first of
// oracleSeeds (POLLHOOK_ORACLE_SEED reruns one).
var oracleScenarios = []oracleScenario{
	{"skew", runSkewMatrix},
	{"backfill", runBackfillAfterPruning},
	{"reconfigure", runReconfigure},
	{"hash-upgrade", runHashUpgrade},
	{"snapshots", snapshotScenario(func(string, *pollconfig.Resource) {})},
	{"snapshots-ignore-date", snapshotScenario(func(_ string, r *pollconfig.Resource) {
		r.IgnoreFields = []string{"DATE_UPDATED_UTC"}
	})},
	{"snapshots-fields", snapshotScenario(func(name string, r *pollconfig.Resource) {
		r.Fields = []string{map[string]string{"contacts": "TITLE", "opportunities": "STAGE_ID"}[name]}
	})},
	{"snapshots-filter", snapshotScenario(func(name string, r *pollconfig.Resource) {
		// A custom field named in another case than the record's, and a
		// native one: records enter and leave the set.
		r.Filter = map[string]string{"contacts": "preferred_contact_method__c = 'Email'", "opportunities": "OPPORTUNITY_STATE = 'OPEN'"}[name]
	})},
	{"filter-without-snapshots", snapshotScenario(func(name string, r *pollconfig.Resource) {
		// CREATED and UPDATED when the new version matches; every DELETED.
		r.Snapshots = false
		r.Filter = map[string]string{"contacts": "preferred_contact_method__c = 'Email'", "opportunities": "OPPORTUNITY_STATE = 'OPEN'"}[name]
	})},
}

// scenarioSeed is the seed of a scenario's world.
func scenarioSeed(t *testing.T) uint64 { return oracleSeeds(t)[0] }

func failedSeed(t *testing.T, seed uint64) {
	if t.Failed() {
		t.Logf("rerun with POLLHOOK_ORACLE_SEED=%d", seed)
	}
}

// firstRunAtOnce: users change records in the second polling is enabled,
// and every resource is polled at once, before a minute passes: the first
// window alone must place the enable time on the upstream's clock.
func (w *world) firstRunAtOnce() {
	w.t.Helper()
	for range 1 + w.rng.IntN(4) {
		w.clock.Advance(time.Duration(w.rng.IntN(250)) * time.Millisecond)
		w.sim.Step(1 + w.rng.IntN(2))
	}
	crash := w.runner.crash
	w.runner.crash = nil
	w.runAll("first run")
	w.runner.crash = crash
}

// skewMatrix are the upstream clock offsets the first run is tried with,
// up to MaxFirstSkew either way.
var skewMatrix = []time.Duration{-15 * time.Minute, -10 * time.Minute, -5 * time.Minute, -2 * time.Minute,
	-30 * time.Second, 0, 30 * time.Second, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute}

// runSkewMatrix: a new poll's first run comes at once after enable, with
// the upstream's clock off ours by up to MaxFirstSkew either way, churn
// going on from enable; then a few ordinary cycles. Nothing changed after
// polling began may be missed, nothing reported twice. (With the cursor
// left on our clock, an upstream behind by more than overlap + pollDelay
// lost the changes of the first minutes.)
func runSkewMatrix(t *testing.T, dsn func(t *testing.T) string) {
	seed := scenarioSeed(t)
	// The worlds are small: they share a database (each its own
	// instance), and four run at once, beside the other parallel tests,
	// without taking more of -parallel's slots than this test's one.
	st := openStore(t, dsn(t))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	defer wg.Wait()
	for _, offset := range skewMatrix {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			t.Run(fmt.Sprint("offset=", offset), func(t *testing.T) { skewWorld(t, seed, offset, st) })
		}()
	}
}

// skewWorld is one world of the skew matrix.
func skewWorld(t *testing.T, seed uint64, offset time.Duration, st *store.Store) {
	w := newWorldWith(t, seed, "", worldOptions{records: 12, offset: &offset, store: st, name: offset.String()})
	w.firstRunAtOnce()
	// The first window leaves the cursor on the upstream's clock: its
	// Date, whole seconds.
	upstream := w.sim.Now()
	for _, r := range oracleResources {
		if c := w.poll(r.name).Cursor; c.After(upstream) || !c.After(upstream.Add(-2*time.Second)) {
			t.Errorf("%s: cursor %s after the first run, the upstream's clock %s (ours %s)", r.name, c, upstream, w.clock.Now())
		}
	}
	for range 2 {
		w.cycle(true)
	}
	w.settle()
	w.check()
	failedSeed(t, seed)
}

// runBackfillAfterPruning: after some cycles (the old poller had pruned
// the state of records last reported before its window by then), an
// operator asks for a backfill from an hour before polling began, and
// for accounts from before any record existed. The backfill may report
// what polling never saw (records as they were when polling began,
// marked Backfill), but no second CREATED and no version twice.
func runBackfillAfterPruning(t *testing.T, dsn func(t *testing.T) string) {
	seed := scenarioSeed(t)
	t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		w := newWorldWith(t, seed, dsn(t), worldOptions{records: 40})
		for range 5 {
			w.cycle(true)
		}
		if _, err := w.store.RequestRun(ctx, w.instID, "", w.start.Add(-time.Hour), w.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := w.store.RequestRun(ctx, w.instID, "accounts", w.start.AddDate(-3, 0, 0), w.clock.Now()); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			w.cycle(true)
		}
		w.settle()
		for _, r := range oracleResources {
			if p := w.poll(r.name); !p.BackfillFrom.IsZero() {
				t.Errorf("%s: the backfill from %s is still pending", r.name, p.BackfillFrom)
			}
		}
		// Every account untouched since polling began was reported by the
		// backfill, once, as it was then.
		touched := map[string]bool{}
		for _, c := range w.sim.Journal(0) {
			if c.Object == "Organisations" {
				touched[strconv.FormatInt(c.ID, 10)] = true
			}
		}
		n := map[string]int{}
		for _, e := range w.events() {
			if e.Resource == "accounts" && e.Backfill {
				n[e.ObjectID]++
			}
		}
		untouched := 0
		for id := range w.initial["Organisations"] {
			if !touched[id] {
				untouched++
				if n[id] != 1 {
					t.Errorf("accounts/%s, unchanged since polling began: %d backfilled events, want 1", id, n[id])
				}
			}
		}
		t.Logf("accounts: %d records unchanged since polling began, all backfilled", untouched)
		w.check()
		failedSeed(t, seed)
	})
}

// runReconfigure: the overlap and pollDelay are widened on a live poll
// (windows reach back past versions reported long ago), later narrowed
// below the defaults, and the interval changes twice. Cursors are kept;
// nothing is reported twice, nothing missed.
func runReconfigure(t *testing.T, dsn func(t *testing.T) string) {
	seed := scenarioSeed(t)
	t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		w := newWorldWith(t, seed, dsn(t), worldOptions{records: 40})
		var names []string
		for _, r := range oracleResources {
			names = append(names, r.name)
		}
		change := func(overlap, delay, interval time.Duration) {
			t.Helper()
			w.reconfigure(func(r *pollconfig.Resource) { r.Overlap, r.PollDelay = overlap, delay })
			before := map[string]time.Time{}
			for _, r := range oracleResources {
				before[r.name] = w.poll(r.name).Cursor
			}
			kept, _, err := w.store.SyncPolls(ctx, w.instID, names, interval, w.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range kept {
				if p.Interval != interval || !p.Cursor.Equal(before[p.Resource]) {
					t.Errorf("%s after SyncPolls: interval %v (want %v), cursor %s (was %s)", p.Resource, p.Interval, interval, p.Cursor, before[p.Resource])
				}
			}
		}
		for range 3 {
			w.cycle(true)
		}
		change(10*time.Minute, 2*time.Minute, 5*time.Minute)
		for range 3 {
			w.cycle(true)
		}
		change(30*time.Second, 0, 2*time.Minute)
		for range 2 {
			w.cycle(true)
		}
		change(15*time.Minute, 0, time.Minute)
		for range 2 {
			w.cycle(true)
		}
		w.settle()
		w.check()
		failedSeed(t, seed)
	})
}

// runHashUpgrade: the per-record state of a poll is rewritten to the
// version-1 hashes an older pollhook stored (SHA-256 of the record's raw
// bytes as Insightly serves them, which each record's last reported
// event holds), and the overlap widened so that the next windows read
// every record changed since polling began again. They are the versions
// already reported: nothing may be reported again.
func runHashUpgrade(t *testing.T, dsn func(t *testing.T) string) {
	seed := scenarioSeed(t)
	t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		w := newWorldWith(t, seed, dsn(t), worldOptions{records: 40})
		for range 4 {
			w.cycle(true)
		}
		w.settle()

		last := map[string]*store.Event{}
		for _, e := range w.events() {
			if e.Type != Deleted {
				last[e.Resource+"/"+e.ObjectID] = e
			}
		}
		db := w.store.DB()
		ph := w.store.Rebind
		rows, err := db.QueryContext(ctx, ph(`SELECT resource, object_id, length(hash) FROM seen WHERE instance_id = ?`), w.instID)
		if err != nil {
			t.Fatal(err)
		}
		type key struct{ resource, id string }
		var keys []key
		for rows.Next() {
			var k key
			var n int
			if err := rows.Scan(&k.resource, &k.id, &n); err != nil {
				t.Fatal(err)
			}
			if n != 1+sha256.Size {
				t.Errorf("%s/%s: a %d-byte hash, want version 2's %d", k.resource, k.id, n, 1+sha256.Size)
			}
			keys = append(keys, k)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 {
			t.Fatal("no per-record state to upgrade")
		}
		for _, k := range keys {
			e := last[k.resource+"/"+k.id]
			if e == nil {
				t.Fatalf("%s/%s has state but no event", k.resource, k.id)
			}
			sum := sha256.Sum256([]byte(e.ProviderData))
			if _, err := db.ExecContext(ctx, ph(`UPDATE seen SET hash = ? WHERE instance_id = ? AND resource = ? AND object_id = ?`),
				sum[:], w.instID, k.resource, k.id); err != nil {
				t.Fatal(err)
			}
		}

		// The upgraded process reads every record changed since polling
		// began again: the same versions, under hashes of the old form.
		w.reconfigure(func(r *pollconfig.Resource) { r.Overlap = 30 * time.Minute })
		w.clock.Advance(time.Minute)
		before, read := len(w.events()), 0
		for _, target := range w.targets {
			st, err := w.runner.Run(ctx, target)
			if err != nil {
				t.Fatalf("%s: %v", target.Resource, err)
			}
			read += st.Read
		}
		live := 0 // records with state that still exist (a lead's deletion leaves its state)
		for _, r := range oracleResources {
			recs, err := w.sim.Records(w.sim.APIKey(), r.object)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				if last[r.name+"/"+fmt.Sprint(rec[r.pk])] != nil {
					live++
				}
			}
		}
		if read < live {
			t.Errorf("the windows read %d records, fewer than the %d with state: the overlap did not reach back", read, live)
		}
		for _, e := range w.events()[before:] {
			if last[e.Resource+"/"+e.ObjectID] != nil {
				t.Errorf("re-reported after the upgrade: %s/%s %s %s", e.Resource, e.ObjectID, e.Type, e.Date)
			}
		}
		var v1 int
		if err := db.QueryRowContext(ctx, ph(`SELECT COUNT(*) FROM seen WHERE instance_id = ? AND length(hash) = ?`),
			w.instID, sha256.Size).Scan(&v1); err != nil {
			t.Fatal(err)
		}
		// Every state the windows re-read unchanged now holds the current
		// hash (only records deleted since keep the old one).
		if v1 > len(keys)-live {
			t.Errorf("%d of %d states still hold a version-1 hash after the windows re-read them (%d records deleted since)", v1, len(keys), len(keys)-live)
		}
		t.Logf("%d records re-read, %d of %d states still hold a version-1 hash", read, v1, len(keys))

		// Polling goes on, with the wide overlap, then the usual one.
		for range 2 {
			w.cycle(true)
		}
		w.reconfigure(func(*pollconfig.Resource) {})
		for range 1 {
			w.cycle(true)
		}
		w.settle()
		w.check()
		failedSeed(t, seed)
	})
}

// snapshotResources are the resources the snapshot scenarios keep
// snapshots of: contacts (with delete scans: DELETED events carry the
// last observed version) and opportunities.
var snapshotResources = []string{"contacts", "opportunities"}

// snapshotScenario: snapshots on (with what configure adds: fields,
// ignoreFields or a filter; or snapshots off again, for a filter alone)
// from polling's start; the first run, then the
// baseline scan observes every record; then cycles of churn (no-op PUTs
// and echo writes among it), same-second edits, late writes, faults and
// crashes. Every UPDATED carries changedFields, the diff of two versions
// of its record; the rules report what they must, and suppress only what
// they may (oracle.CheckChanges).
func snapshotScenario(configure func(resource string, r *pollconfig.Resource)) func(t *testing.T, dsn func(t *testing.T) string) {
	return func(t *testing.T, dsn func(t *testing.T) string) {
		seed := scenarioSeed(t)
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newWorldWith(t, seed, dsn(t), worldOptions{records: 40})
			for _, name := range snapshotResources {
				r := *w.config.Resources[name]
				r.Snapshots, r.Deletes.Enabled = true, true
				configure(name, &r)
				w.config.Resources[name] = &r
			}
			w.reconfigure(func(*pollconfig.Resource) {})
			crash := w.runner.crash
			w.runner.crash = nil
			w.runAll("first run")
			for _, name := range snapshotResources {
				if !w.config.Resources[name].Snapshots {
					continue
				}
				b, err := w.runner.Baseline(ctx, w.target(name))
				if err != nil {
					t.Fatalf("%s: baseline: %v", name, err)
				}
				if b.Observed == 0 || b.Skipped != 0 {
					t.Fatalf("%s: the baseline observed %d records and skipped %d: want every record (nothing changed)", name, b.Observed, b.Skipped)
				}
			}
			w.runner.crash = crash
			var baselineSeq, diffsAfter int64
			if j := w.sim.Journal(0); len(j) > 0 {
				baselineSeq = j[len(j)-1].Seq
			}
			if evs := w.events(); len(evs) > 0 {
				diffsAfter = evs[len(evs)-1].Seq
			}
			w.rules = map[string]oracle.Resource{}
			for _, name := range snapshotResources {
				r := w.config.Resources[name]
				w.rules[name] = oracle.Resource{Snapshots: r.Snapshots, Fields: r.Fields, IgnoreFields: r.IgnoreFields, Filter: r.Filter,
					BaselineSeq: baselineSeq, RequireDiffs: r.Snapshots, DiffsAfter: diffsAfter}
			}
			for range 12 {
				w.cycle(true)
			}
			w.settle()
			w.check()
			diffs := 0
			for _, e := range w.events() {
				if len(e.ChangedFields) > 0 {
					diffs++
				}
			}
			contacts := w.config.Resources["contacts"]
			switch {
			case !contacts.Snapshots && diffs > 0:
				t.Errorf("%d events carry changedFields without snapshots", diffs)
			case contacts.Snapshots && diffs == 0 && len(contacts.Fields) == 0:
				// (With fields, a run may see no trigger field change.)
				t.Error("no event carries changedFields")
			}
			t.Logf("%d events, %d with changedFields", len(w.events()), diffs)
			failedSeed(t, seed)
		})
	}
}
