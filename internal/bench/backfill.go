package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/store"
)

// BackfillTargetDefault is the bound on the process's RSS during
// a backfill of 200,000 records.
const BackfillTargetDefault = 200 << 20

// BackfillConfig says how large a backfill the backfill benchmark runs.
type BackfillConfig struct {
	Database string // "" for a temporary SQLite file
	// Records is how many contacts the simulator holds, every one of them
	// in the backfill's window; default 200,000.
	Records int
	Seed    uint64 // the simulator's; default 1
	// Target is the RSS bound the result is judged against; default 200 MiB.
	Target int64
	// Timeout bounds the backfill run (the simulator's start not
	// included); default 30 minutes, the server's poll timeout.
	Timeout time.Duration
	// MemProfile, when set, receives a heap profile taken near the peak
	// of the process's RSS.
	MemProfile string
	// Executable is the pollhook binary that runs the simulator as its
	// own process ("" for this one: pollhook bench runs pollhook sim).
	Executable string
	// AnalyzeEvery, on PostgreSQL, runs ANALYZE on the schema's tables
	// this often during the run, as autovacuum does on a server that runs
	// it (0: never; the plans then follow whatever statistics the server
	// keeps).
	AnalyzeEvery time.Duration
	// SimEnv is added to the simulator's environment (tests).
	SimEnv   []string
	Progress func(format string, args ...any)
}

// BackfillResult is what it measured.
type BackfillResult struct {
	Dialect  string
	Records  int           // the simulator's contacts
	Read     int           // records the backfill run read
	Pages    int           // pages it committed
	Events   int           // events written for the instance
	Created  int           // of them, CREATED
	Objects  int           // distinct objects among the events
	Backfill int           // events marked backfill
	Duration time.Duration // from the engine's start to the run's completion
	RunTime  time.Duration // the run itself, as the poll records it
	SimStart time.Duration // the simulator's start (generating its records)
	SimRSS   int64         // the simulator's own peak RSS: not counted
	// Memory of this process: RSS when the engine started, peak RSS
	// (VmHWM) at the end of the run, and at the end of the delivery drain.
	StartRSS, PeakRSS, DrainRSS int64
	// Go's share, sampled every 50 ms: live heap objects and everything
	// the runtime has mapped (the rest of the RSS is SQLite's memory, the
	// binary and the C-like allocations of the driver).
	PeakHeap, PeakGoTotal int64
	Samples               int
	Target                int64
	Notifications         int64 // delivered to the discarding receiver by the end of the drain
	Waiting               int   // notifications still waiting when the drain gave up
	Drain                 time.Duration
	Analyzed              int    // ANALYZE passes the bench ran (AnalyzeEvery)
	Autovacuum            string // PostgreSQL's setting
	// CPU time over the run (from the engine's start to the run's end):
	// this process's, and the simulator's, which serves each page by
	// walking its records up to the page's offset.
	CPU, SimCPU time.Duration
}

// Pass says whether the peak RSS stayed under the target.
func (r *BackfillResult) Pass() bool { return r.PeakRSS > 0 && r.PeakRSS < r.Target }

// Backfill measures the process's memory while it backfills a large
// account: the Insightly simulator runs as a child process (its memory is
// not ours), and this process runs pollhook's engine on a store, with one
// instance polling contacts (page size 500) whose callback is a
// discarding loopback receiver, so that the run builds and queues its
// notifications and the engine delivers them while it reads, as a server
// would. A backfill from long before every record's date makes the run
// read, and report, every record.
func Backfill(ctx context.Context, cfg BackfillConfig) (*BackfillResult, error) {
	if cfg.Records <= 0 {
		cfg.Records = 200_000
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Target <= 0 {
		cfg.Target = BackfillTargetDefault
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = jobs.PollTimeoutDefault
	}
	progress := quietIfNil(cfg.Progress)
	res := &BackfillResult{Records: cfg.Records, Target: cfg.Target}

	progress("starting the simulator with %d contacts (a child process)", cfg.Records)
	sp, err := startSim(ctx, simCommand{Executable: cfg.Executable, Env: cfg.SimEnv, Records: cfg.Records, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	defer sp.stop()
	res.SimStart = sp.startup
	progress("simulator at %s after %s", sp.base, res.SimStart.Round(time.Second))

	dsn, tmp := cfg.Database, ""
	if dsn == "" {
		if tmp, err = os.MkdirTemp("", "pollhook-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dsn = "sqlite:" + filepath.Join(tmp, "bench.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	res.Dialect = st.Dialect()

	hook, err := newDiscard()
	if err != nil {
		return nil, err
	}
	defer hook.close()

	// The server's wiring: the Insightly element allowing the simulator
	// (as --allow-upstream would), the instance service, the engine with
	// its defaults. The element's own pacing is lifted (as in the other
	// benches): the run goes as fast as pollhook and the simulator can.
	allow, err := netguard.ParseAllowList(sp.host)
	if err != nil {
		return nil, err
	}
	keys, _ := seal.Parse(seal.NewKey("k1"))
	el := insightly.NewElement(insightly.Options{Upstreams: insightly.Upstreams{Allow: allow}, Limits: insightly.NewLimits(1e6, 64)})
	svc := &instance.Service{Store: st, Elements: element.NewRegistry(el), Keys: keys, AllowPrivateCallbacks: true}
	engine, err := jobs.New(ctx, jobs.Config{Store: st, Instances: svc, AllowPrivateCallbacks: true, Logger: slog.New(slog.DiscardHandler),
		OrgMaxJobs: jobs.WorkersDefault})
	if err != nil {
		return nil, err
	}
	svc.Scheduler = engine
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		engine.StopAndCancel(c)
		cancel()
	}()
	org := &store.Organization{Name: "bench", SecretHash: auth.Hash(auth.NewSecret())}
	if err := st.CreateOrganization(ctx, org); err != nil {
		return nil, err
	}
	u := &store.User{OrgID: org.ID, Email: "bench@pollhook.local", SecretHash: auth.Hash(auth.NewSecret())}
	if err := st.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{"element": map[string]any{"key": "insightly"}, "name": "backfill",
		"configuration": map[string]any{"password": sp.key, "base.url": sp.base, "event.notification.enabled": true,
			"event.notification.callback.url": hook.url, "event.poller.refresh_interval": 60,
			"event.poller.configuration": map[string]any{"contacts": map[string]any{}}}}) // the default contacts poller: pages of 500
	v, err := svc.Create(ctx, instance.Caller{Org: org, User: u}, "", body)
	if err != nil {
		return nil, err
	}
	inst, err := st.InstanceByID(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	// The backfill is asked for before the engine starts, so that the
	// instance's first run is the backfill: from long before any record.
	from := time.Now().AddDate(-10, 0, 0)
	if n, err := engine.RunNow(ctx, inst, "contacts", from); err != nil || n != 1 {
		return nil, fmt.Errorf("bench: request the backfill: %d polls, %v", n, err)
	}

	runtime.GC()
	res.StartRSS = procStatus("self", "VmRSS")
	smp := startSampler(cfg.MemProfile)
	defer smp.stop()
	progress("backfilling %d contacts on %s (RSS %.0f MiB)", cfg.Records, res.Dialect, mib(res.StartRSS))
	if res.Dialect == store.Postgres {
		st.DB().QueryRowContext(ctx, `SHOW autovacuum`).Scan(&res.Autovacuum)
	}
	stopAnalyze := analyzeEvery(ctx, st, cfg.AnalyzeEvery, &res.Analyzed)
	defer stopAnalyze()
	cpu0, simCPU0 := procCPU("self"), sp.cpu()
	start := time.Now()
	if err := engine.Start(ctx); err != nil {
		return nil, err
	}
	deadline := start.Add(cfg.Timeout)
	var p *store.Poll
	lastNote := start
	for {
		if p, err = st.GetPoll(ctx, inst.ID, "contacts"); err != nil {
			return nil, err
		}
		if p.Runs > 0 && p.Failures > 0 {
			return nil, fmt.Errorf("bench: the backfill run failed: %s", p.LastError)
		}
		if p.Runs > 0 && p.Window == nil && p.BackfillFrom.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: the backfill did not complete within %s", cfg.Timeout)
		}
		if w := p.Window; w != nil && time.Since(lastNote) > 10*time.Second {
			lastNote = time.Now()
			progress("%d records read, %d pages; RSS %.0f MiB, peak %.0f MiB", w.Records, w.Pages,
				mib(procStatus("self", "VmRSS")), mib(procStatus("self", "VmHWM")))
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	res.Duration = time.Since(start)
	res.PeakRSS = procStatus("self", "VmHWM")
	res.CPU, res.SimCPU = procCPU("self")-cpu0, sp.cpu()-simCPU0
	stopAnalyze()
	res.RunTime, res.Read, res.Pages = p.LastRun.Duration, p.LastRun.Records, p.LastRun.Pages
	smp.profile() // the run's end: the profile taken so far is the heap near the peak
	progress("backfill done in %s; draining its notifications", res.Duration.Round(time.Second))

	// The notifications the run queued, delivered to the receiver: the
	// engine keeps going after the run, as a server would.
	drainStart := time.Now()
	for {
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE status <> 'delivered'`).Scan(&res.Waiting); err != nil {
			return nil, err
		}
		if res.Waiting == 0 || time.Since(drainStart) > 5*time.Minute {
			break
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	res.Drain = time.Since(drainStart)
	res.DrainRSS = procStatus("self", "VmHWM")
	res.Notifications = hook.count.Load()
	res.SimRSS = sp.rss()
	smp.stop()
	res.PeakHeap, res.PeakGoTotal, res.Samples = smp.peakHeap, smp.peakTotal, smp.samples

	rows, err := st.DB().QueryContext(ctx, st.Rebind(`SELECT event_type, COUNT(*), COUNT(DISTINCT object_id),
		SUM(CASE WHEN backfill THEN 1 ELSE 0 END) FROM events WHERE instance_id = ? GROUP BY event_type`), inst.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		var n, objects, backfill int
		if err := rows.Scan(&typ, &n, &objects, &backfill); err != nil {
			return nil, err
		}
		res.Events += n
		res.Objects += objects // CREATED and UPDATED never share an object here: one event each
		res.Backfill += backfill
		if typ == "CREATED" {
			res.Created = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if cfg.MemProfile != "" {
		if err := os.WriteFile(cfg.MemProfile, smp.heap(), 0o644); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// analyzeEvery runs ANALYZE on the current schema's tables every d
// (PostgreSQL only; d 0: never), counting the passes in n until stopped.
func analyzeEvery(ctx context.Context, st *store.Store, d time.Duration, n *int) (stop func()) {
	if d <= 0 || st.Dialect() != store.Postgres {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-done:
				return
			case <-ctx.Done():
				return
			}
			rows, err := st.DB().QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
			if err != nil {
				continue
			}
			var tables []string
			for rows.Next() {
				var t string
				if rows.Scan(&t) == nil {
					tables = append(tables, t)
				}
			}
			rows.Close()
			for _, t := range tables {
				st.DB().ExecContext(ctx, `ANALYZE `+strconv.Quote(t))
			}
			*n++
		}
	})
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// sampler follows Go's share of the memory every 50 ms, and keeps a heap
// profile from near the peak RSS when asked.
type sampler struct {
	done                 chan struct{}
	wg                   sync.WaitGroup
	once                 sync.Once
	mu                   sync.Mutex
	peakHeap, peakTotal  int64
	samples              int
	wantProfile          bool
	profiledAt, lastPeak int64
	prof                 []byte
}

func startSampler(memProfile string) *sampler {
	s := &sampler{done: make(chan struct{}), wantProfile: memProfile != ""}
	ms := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	s.wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(ms)
			rss := procStatus("self", "VmRSS")
			s.mu.Lock()
			s.samples++
			s.peakHeap = max(s.peakHeap, int64(ms[0].Value.Uint64()))
			s.peakTotal = max(s.peakTotal, int64(ms[1].Value.Uint64()))
			// A new peak 8 MiB above the last profiled one: profile again.
			take := s.wantProfile && rss > s.lastPeak && rss > s.profiledAt+8<<20
			s.lastPeak = max(s.lastPeak, rss)
			s.mu.Unlock()
			if take {
				s.takeProfile(rss)
			}
			select {
			case <-t.C:
			case <-s.done:
				return
			}
		}
	})
	return s
}

func (s *sampler) takeProfile(rss int64) {
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
		return
	}
	s.mu.Lock()
	s.prof, s.profiledAt = b.Bytes(), rss
	s.mu.Unlock()
}

// profile stops taking profiles: the one kept is from the run.
func (s *sampler) profile() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wantProfile = false
}

func (s *sampler) heap() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prof
}

func (s *sampler) stop() {
	s.once.Do(func() { close(s.done); s.wg.Wait() })
}

// discard is a webhook receiver that counts notifications and keeps
// nothing.
type discard struct {
	srv   *http.Server
	url   string
	count atomic.Int64
}

func newDiscard() (*discard, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &discard{url: "http://" + ln.Addr().String() + "/hook"}
	d.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		d.count.Add(1)
	})}
	go d.srv.Serve(ln)
	return d, nil
}

func (d *discard) close() { d.srv.Close() }

func (r *BackfillResult) statistics() string {
	if r.Autovacuum == "" {
		return ""
	}
	return fmt.Sprintf("  PostgreSQL statistics       autovacuum %s; the bench ran ANALYZE %d times during the run\n", r.Autovacuum, r.Analyzed)
}

// Format prints the result.
func (r *BackfillResult) Format() string {
	verdict := "PASS"
	if !r.Pass() {
		verdict = "MISS"
	}
	drain := fmt.Sprintf("%d notifications delivered in %s after the run", r.Notifications, r.Drain.Round(time.Second))
	if r.Waiting > 0 {
		drain += fmt.Sprintf(", %d still waiting", r.Waiting)
	}
	return fmt.Sprintf(`backfill on %s: %d contacts in a simulator process of its own, one instance, pages of 500, callback to a discarding receiver
  records read                %8d  (%d pages)
  events written              %8d  (%d CREATED, %d UPDATED; %d objects; %d marked backfill)
  duration                    %8s  (the run itself %s; the simulator took %s to start)
  throughput                  %8.0f records/s
  CPU over the run            %8.1f s this process, %.1f s the simulator (of %.0f core-seconds)
  RSS at the start            %8.1f MiB
  peak RSS                    %8.1f MiB  (VmHWM at the run's end) — %s against %.0f MiB
  peak RSS with the drain     %8.1f MiB  (%s)
  Go memory, peak             %8.1f MiB heap objects, %.1f MiB mapped by the runtime (%d samples)
  simulator's RSS             %8.0f MiB  (its own process: not counted)
%s`, r.Dialect, r.Records, r.Read, r.Pages, r.Events, r.Created, r.Events-r.Created, r.Objects, r.Backfill,
		r.Duration.Round(100*time.Millisecond), r.RunTime.Round(100*time.Millisecond), r.SimStart.Round(time.Second),
		float64(r.Read)/r.Duration.Seconds(), r.CPU.Seconds(), r.SimCPU.Seconds(), float64(runtime.NumCPU())*r.Duration.Seconds(), mib(r.StartRSS), mib(r.PeakRSS), verdict, mib(r.Target),
		mib(r.DrainRSS), drain, mib(r.PeakHeap), mib(r.PeakGoTotal), r.Samples, mib(r.SimRSS), r.statistics())
}
