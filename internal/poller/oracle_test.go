package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
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
	clock   *sim.ManualClock
	store   *store.Store
	runner  *Runner
	targets []Target
	orgID   int64
	instID  int64
	start   time.Time // when polling began, our clock
	cycles  int
}

func newWorld(t *testing.T, seed uint64, dsn string) *world {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	clock := sim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	offset := time.Duration(rng.IntN(241)-120) * time.Second // the upstream's clock is not ours
	s := sim.New(sim.Config{Seed: seed, Records: 60, Now: clock.Now, ClockOffset: offset, RateLimit: -1})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	org := &store.Organization{Name: "o", SecretHash: auth.Hash(fmt.Sprint("o", seed, dsn))}
	if err := st.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	u := &store.User{OrgID: org.ID, Email: "u@x", SecretHash: auth.Hash(fmt.Sprint("u", seed, dsn))}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	in := &store.Instance{OrgID: org.ID, UserID: u.ID, ElementKey: "insightly", Name: "oracle", TokenHash: auth.Hash(fmt.Sprint("t", seed, dsn)),
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
	raw, _ := json.Marshal(defaults)
	pc, err := pollconfig.Parse(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, seed: seed, rng: rng, sim: s, clock: clock, store: st, orgID: org.ID, instID: in.ID,
		runner: &Runner{Store: st, Now: clock.Now}, start: clock.Now()}
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
		c, err := pc.Resources[r.name].Compile()
		if err != nil {
			t.Fatal(err)
		}
		w.targets = append(w.targets, Target{OrgID: org.ID, InstanceID: in.ID, Resource: r.name, Conn: conn, Config: c})
		names = append(names, r.name)
	}
	if _, _, err := st.SyncPolls(ctx, in.ID, names, time.Minute, clock.Now()); err != nil {
		t.Fatal(err)
	}
	// The baseline delete scan: the contacts known when polling began.
	if _, err := w.runner.ScanDeletes(ctx, w.targets[0]); err != nil {
		t.Fatal(err)
	}
	return w
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
// simulator's journal.
func (w *world) check() {
	var rs []oracle.Resource
	for _, r := range oracleResources {
		rs = append(rs, oracle.Resource{Name: r.name, Object: r.object, Deletes: r.name == "contacts"})
	}
	for _, v := range oracle.Check(w.events(), w.sim.Journal(0), 0, rs) {
		w.t.Errorf("seed %d: %s", w.seed, v)
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
			// Quiet: no faults, no churn, until every late write is visible.
			w.sim.SetFaults(sim.Faults{})
			w.runner.crash = nil
			w.clock.Advance(time.Minute)
			for _, target := range w.targets {
				if _, err := w.runner.Run(context.Background(), target); err != nil {
					t.Fatalf("seed %d: quiet run: %v", seed, err)
				}
			}
			if _, err := w.runner.ScanDeletes(context.Background(), w.targets[0]); err != nil {
				t.Fatalf("seed %d: quiet delete scan: %v", seed, err)
			}
			w.check()
			if t.Failed() {
				t.Logf("rerun with POLLHOOK_ORACLE_SEED=%d", seed)
			}
		})
	}
}

// The oracle, many seeds, on SQLite.
func TestOracleSQLite(t *testing.T) {
	t.Parallel()
	runOracle(t, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "db") })
}

// The same on PostgreSQL.
func TestOraclePostgres(t *testing.T) {
	t.Parallel()
	base := testdb.PostgresURL(t)
	runOracle(t, func(t *testing.T) string { return testdb.FreshSchema(t, base) })
}
