package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/oracle"
	"github.com/pollhook/pollhook/internal/pollconfig"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// resources polled in the oracle test, with the simulator object and key
// each reads.
var oracleResources = []struct{ name, object, pk string }{
	{"contacts", "Contacts", "CONTACT_ID"},
	{"accounts", "Organisations", "ORGANISATION_ID"},
	{"leads", "Leads", "LEAD_ID"},
	{"opportunities", "Opportunities", "OPPORTUNITY_ID"},
}

// world is one instance polling a simulated Insightly on a manual clock.
type world struct {
	t       *testing.T
	seed    uint64
	rng     *rand.Rand
	sim     *sim.Sim
	tap     *tap
	clock   *sim.ManualClock
	store   *store.Store
	runner  *Runner
	conn    element.Conn
	config  *pollconfig.Config
	targets []Target
	orgID   int64
	instID  int64
	start   time.Time // when polling began, our clock
	// initial holds each object's records when polling began, by ID: the
	// versions a backfill from before then may report, which the journal
	// does not hold.
	initial map[string]map[string]map[string]any
	// reach is the earliest a normal window reached back, on the
	// upstream's clock: an initial version updated after it may be
	// reported without a backfill.
	reach  time.Time
	cycles int
	// rules holds, by resource, the snapshot settings the oracle holds
	// its events to (oracle.Resource's Snapshots … DiffsAfter).
	rules map[string]oracle.Resource
}

// worldOptions vary a world; the zero value is newWorld's.
type worldOptions struct {
	records  int            // per core object; default 60
	offset   *time.Duration // the upstream's clock less ours; default random within ±2 min
	pageSize map[string]int // by resource; contacts default to 15
	// store, when set, is a database shared with other worlds (each has
	// its own organization and instance, named by name): dsn is unused.
	store *store.Store
	name  string
}

func newWorld(t *testing.T, seed uint64, dsn string) *world {
	t.Helper()
	return newWorldWith(t, seed, dsn, worldOptions{})
}

func newWorldWith(t *testing.T, seed uint64, dsn string, o worldOptions) *world {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	// Polling is enabled at some millisecond: record times are whole seconds.
	clock := sim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(1000)) * time.Millisecond))
	offset := time.Duration(rng.IntN(241)-120) * time.Second // the upstream's clock is not ours
	if o.offset != nil {
		offset = *o.offset
	}
	records := 60
	if o.records > 0 {
		records = o.records
	}
	s := sim.New(sim.Config{Seed: seed, Records: records, Now: clock.Now, ClockOffset: offset, RateLimit: -1})
	tp := &tap{ok: map[string]int{}, left: map[string]int{}}
	srv := httptest.NewServer(tp.wrap(s.Handler()))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	st := o.store
	if st == nil {
		st = openStore(t, dsn)
	}
	org := &store.Organization{Name: "o", SecretHash: auth.Hash(fmt.Sprint("o", seed, dsn, o.name))}
	if err := st.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	u := &store.User{OrgID: org.ID, Email: "u@x", SecretHash: auth.Hash(fmt.Sprint("u", seed, dsn, o.name))}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	in := &store.Instance{OrgID: org.ID, UserID: u.ID, ElementKey: "insightly", Name: "oracle", TokenHash: auth.Hash(fmt.Sprint("t", seed, dsn, o.name)),
		TokenSealed: "x", Valid: true, EventsEnabled: true}
	if err := st.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}

	// Retries and pauses take no real time: the clock under test is the manual one.
	el := insightly.NewElement(insightly.Options{Upstreams: insightly.Upstreams{Allow: netguard.AllowList{{Host: "127.0.0.1"}}}, Limits: insightly.NewLimits(1e6, 8),
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Backoff: func(int) time.Duration { return time.Millisecond }})
	conn, err := el.Open(map[string]string{insightly.ConfigPassword: s.APIKey(), insightly.ConfigBaseURL: srv.URL + "/v3.1"})
	if err != nil {
		t.Fatal(err)
	}
	// Small pages for contacts, so deletes between page reads really shift pages.
	var defaults map[string]map[string]any
	json.Unmarshal(el.DefaultPollerConfig(), &defaults)
	defaults["contacts"]["pageSize"] = 15
	defaults["contacts"]["deletes"] = map[string]any{"scanEveryMinutes": 3, "maxMissingShare": 0.5}
	for name, size := range o.pageSize {
		defaults[name]["pageSize"] = size
	}
	raw, _ := json.Marshal(defaults)
	pc, err := pollconfig.Parse(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, seed: seed, rng: rng, sim: s, tap: tp, clock: clock, store: st, conn: conn, config: pc, orgID: org.ID,
		instID: in.ID, runner: &Runner{Store: st, Now: clock.Now}, start: clock.Now(), initial: map[string]map[string]map[string]any{},
		reach: s.Now().Add(-firstMargin)}
	// Runs die now and then while reading or inside the commit, as a
	// killed process would; the next run must make up for them.
	w.runner.crash = func(stage string) bool {
		if stage == "commit" {
			return rng.Float64() < 0.1
		}
		return rng.Float64() < 0.01
	}
	var names []string
	for _, r := range oracleResources {
		names = append(names, r.name)
		recs, err := s.Records(s.APIKey(), r.object)
		if err != nil {
			t.Fatal(err)
		}
		w.initial[r.object] = map[string]map[string]any{}
		for _, rec := range recs {
			w.initial[r.object][fmt.Sprint(rec[r.pk])] = rec
		}
	}
	w.reconfigure(func(*pollconfig.Resource) {})
	if _, _, err := st.SyncPolls(ctx, in.ID, names, time.Minute, clock.Now()); err != nil {
		t.Fatal(err)
	}
	// The baseline delete scan: the contacts known when polling began.
	if _, err := w.runner.ScanDeletes(ctx, w.targets[0]); err != nil {
		t.Fatal(err)
	}
	return w
}

// openStore opens a database for the test's worlds.
func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// reconfigure compiles the targets again from the world's configuration
// as change makes it, as when an instance's configuration is updated on a
// live poll.
func (w *world) reconfigure(change func(*pollconfig.Resource)) {
	w.t.Helper()
	w.targets = w.targets[:0]
	for _, r := range oracleResources {
		res := *w.config.Resources[r.name]
		change(&res)
		c, err := res.Compile()
		if err != nil {
			w.t.Fatal(err)
		}
		w.targets = append(w.targets, Target{OrgID: w.orgID, InstanceID: w.instID, Resource: r.name, Conn: w.conn, Config: c})
		// A wider overlap or pollDelay on a young poll reaches back
		// before polling began.
		p, err := w.store.GetPoll(context.Background(), w.instID, r.name)
		if err == nil && !p.LastOKAt.IsZero() {
			if from := p.Cursor.Add(-res.Overlap - res.PollDelay); from.Before(w.reach) {
				w.reach = from
			}
		}
	}
}

// target is the world's target of a resource.
func (w *world) target(resource string) Target {
	for _, t := range w.targets {
		if t.Resource == resource {
			return t
		}
	}
	w.t.Fatalf("no target %s", resource)
	return Target{}
}

// poll reads a resource's poll.
func (w *world) poll(resource string) *store.Poll {
	w.t.Helper()
	p, err := w.store.GetPoll(context.Background(), w.instID, resource)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// tap sits between the poller and the simulator: it counts the answers
// to each object's requests and can make them fail.
type tap struct {
	mu   sync.Mutex
	ok   map[string]int // object ("leads") → requests answered with success
	left map[string]int // object → requests still answered before every one fails with 502; absent: none fails
}

func (tp *tap) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		object, _, _ := strings.Cut(strings.TrimPrefix(strings.ToLower(r.URL.Path), "/v3.1/"), "/")
		tp.mu.Lock()
		if left, limited := tp.left[object]; limited {
			if left <= 0 {
				tp.mu.Unlock()
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusBadGateway)
				rw.Write([]byte(`{"Message":"bad gateway (test)"}`))
				return
			}
			tp.left[object] = left - 1
		}
		tp.mu.Unlock()
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status < 300 {
			tp.mu.Lock()
			tp.ok[object]++
			tp.mu.Unlock()
		}
	})
}

// answered is how many of object's requests succeeded so far.
func (tp *tap) answered(object string) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.ok[object]
}

// failAfter makes object's requests fail (502, every retry too) after n
// more are answered; n < 0 lifts it.
func (tp *tap) failAfter(object string, n int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if n < 0 {
		delete(tp.left, object)
	} else {
		tp.left[object] = n
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// cycle: users change records for a minute, with faults, then every
// resource is polled.
func (w *world) cycle(faults bool) {
	end := w.clock.Now().Add(time.Minute)
	for range w.rng.IntN(14) {
		w.clock.Advance(time.Duration(w.rng.IntN(4000)) * time.Millisecond)
		if w.clock.Now().After(end) {
			break
		}
		w.sim.Step(1 + w.rng.IntN(3))
	}
	w.clock.Set(end)
	if faults {
		f := sim.Faults{LateWrites: 0.1, LateDelay: sim.Duration(20 * time.Second)}
		switch p := w.rng.Float64(); {
		case p < 0.15:
			f.FailNext, f.FailStatus = 1+w.rng.IntN(3), 503 // retried within the run
		case p < 0.22:
			f.FailNext, f.FailStatus = 12, 502 // outlasts the retries: runs fail
		case p < 0.35:
			f.FailNext, f.FailStatus, f.OmitRetryAfter = 2, 429, w.rng.IntN(2) == 0
		}
		if w.rng.Float64() < 0.3 {
			f.DeleteBetweenPages = map[string]int{"Contacts": 2}
		}
		w.sim.SetFaults(f)
	} else {
		w.sim.SetFaults(sim.Faults{})
	}
	for _, t := range w.targets {
		if _, err := w.runner.Run(context.Background(), t); err != nil && faults == false {
			w.t.Fatalf("seed %d: a run failed without faults: %v", w.seed, err)
		}
	}
	// Delete scans of contacts every third cycle; they may fail under faults.
	if w.cycles++; w.cycles%3 == 0 {
		w.runner.ScanDeletes(context.Background(), w.targets[0])
	}
}

// events reads every event of the instance, in order.
func (w *world) events() []*store.Event {
	var out []*store.Event
	var after int64
	for {
		page, err := w.store.Events(context.Background(), w.orgID, store.EventFilter{InstanceID: w.instID, AfterSeq: after})
		if err != nil {
			w.t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// check holds the events to design.md's "What correct means", against the
// simulator's journal (and, for backfilled events, the records as they
// were when polling began).
func (w *world) check() {
	w.t.Helper()
	var rs []oracle.Resource
	for _, r := range oracleResources {
		o := w.rules[r.name]
		o.Name, o.Object, o.Deletes, o.Initial, o.InitialAfter = r.name, r.object, r.name == "contacts", w.initial[r.object], w.reach
		rs = append(rs, o)
	}
	events, journal := w.events(), w.sim.Journal(0)
	for _, v := range oracle.Check(events, journal, 0, rs) {
		w.t.Errorf("seed %d: %s", w.seed, v)
	}
	for _, v := range oracle.CheckChanges(events, journal, rs) {
		w.t.Errorf("seed %d: %s", w.seed, v)
	}
}

// settle polls until nothing can be missing: no faults, no crashes, no
// churn, every late write visible. A resource whose last run failed runs
// twice: the first run may only finish the window the failure left open,
// which does not see what changed since that window began (the next
// window does).
func (w *world) settle() {
	w.t.Helper()
	w.sim.SetFaults(sim.Faults{})
	w.runner.crash = nil
	w.clock.Advance(time.Minute)
	for _, target := range w.targets {
		runs := 1
		if w.poll(target.Resource).LastError != "" {
			runs = 2
		}
		for range runs {
			if _, err := w.runner.Run(context.Background(), target); err != nil {
				w.t.Fatalf("seed %d: quiet run of %s: %v", w.seed, target.Resource, err)
			}
		}
	}
	if _, err := w.runner.ScanDeletes(context.Background(), w.targets[0]); err != nil {
		w.t.Fatalf("seed %d: quiet delete scan: %v", w.seed, err)
	}
}

// runAll runs every resource once, and fails the test on an error.
func (w *world) runAll(what string) {
	w.t.Helper()
	for _, target := range w.targets {
		if _, err := w.runner.Run(context.Background(), target); err != nil {
			w.t.Fatalf("seed %d: %s: %s: %v", w.seed, what, target.Resource, err)
		}
	}
}

func oracleSeeds(t *testing.T) []uint64 {
	n := 6
	if testing.Short() {
		n = 2
	}
	if v, err := strconv.Atoi(os.Getenv("POLLHOOK_ORACLE_SEEDS")); err == nil && v > 0 {
		n = v
	}
	base := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("POLLHOOK_ORACLE_SEED"), 10, 64); err == nil {
		base, n = v, 1
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	return seeds
}

func runOracle(t *testing.T, dsn func(t *testing.T) string) {
	for _, seed := range oracleSeeds(t) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, seed, dsn(t))
			for range 25 {
				w.cycle(true)
			}
			w.settle()
			w.check()
			if t.Failed() {
				t.Logf("rerun with POLLHOOK_ORACLE_SEED=%d", seed)
			}
		})
	}
}

// oracleScenario is a scenario of the oracle test, run on each database
// beside runOracle's long random runs.
type oracleScenario struct {
	name string
	run  func(t *testing.T, dsn func(t *testing.T) string)
}

// runOracleAll runs the random runs and every scenario, all in parallel.
func runOracleAll(t *testing.T, dsn func(t *testing.T) string) {
	runOracle(t, dsn)
	for _, sc := range oracleScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t, dsn)
		})
	}
}

// The oracle, many seeds and every scenario, on SQLite.
func TestOracleSQLite(t *testing.T) {
	t.Parallel()
	runOracleAll(t, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "db") })
}

// The same on PostgreSQL.
func TestOraclePostgres(t *testing.T) {
	t.Parallel()
	base := testdb.PostgresURL(t)
	runOracleAll(t, func(t *testing.T) string { return testdb.FreshSchema(t, base) })
}
