package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/metrics"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// PollingConfig says how many polls the polling benchmark schedules.
type PollingConfig struct {
	Database          string        // "" for a temporary SQLite file
	InstanceResources int           // instances × 4 resources; default 10,000
	Interval          int           // event.poller.refresh_interval; default 15
	IntervalUnit      time.Duration // what one unit means; default 1 s (compressed time; a minute in production)
	Duration          time.Duration // measured, after one interval of warm-up; default two intervals
	Workers           int           // job workers; default the engine's
	FetchInterval     time.Duration // how often idle workers look for due jobs; default the engine's
	// Executable, when set, is the pollhook binary that runs the
	// simulator as a child process, so that this process's CPU time is
	// pollhook's alone; otherwise the simulator runs in this process.
	Executable string
	SimEnv     []string // added to the simulator process's environment (tests)
	// Herd starts every first poll at once, as a bulk import without
	// --first-poll-spread does; by default they are spread over one
	// interval, as instances created over time are.
	Herd bool
	// Accounts is the number of simulated Insightly accounts (default 1);
	// instances are spread over their owners' keys in turn, so that each
	// account's shared pace (on PostgreSQL, a row) serves its share only.
	Accounts int
	Progress func(format string, args ...any)
}

// PollingResult is what it measured. Nothing changes upstream, so every
// poll is idle: the cost of polling itself.
type PollingResult struct {
	Dialect           string
	InstanceResources int
	Interval          time.Duration
	Offered           float64 // polls/s the schedule asks for
	Sustained         float64 // polls/s that ran in the window
	Polls             int
	LateP50, LateP99  time.Duration // from due to start
	RequestsPerPoll   float64       // upstream requests per idle poll (1 is the target)
	RSS               int64         // peak resident set of the process, bytes
	// CPU time per poll in the window: this process (pollhook, and the
	// simulator unless it ran as a process), the simulator process, and
	// the local PostgreSQL's processes (0: not measured).
	CPUPerPoll, SimCPUPerPoll, DatabaseCPUPerPoll time.Duration
	// Statements and transactions per poll in the window, pollhook's and
	// River's (they share the pool), the bench's own few included.
	StatementsPerPoll, TransactionsPerPoll float64
	DatabaseBytes                          int64
	Setup                                  time.Duration
	Backlog                                int // resources never polled when the warm-up ended (the schedule is beyond reach)
	Herd                                   bool
	Accounts                               int // simulated Insightly accounts the instances are spread over
	// AccountsPolled is how many accounts had every resource of every
	// one of their instances polled by the end.
	AccountsPolled int
	// AccountsAsked is how many accounts the simulator saw requests from
	// (counted only when it runs in this process; 0 otherwise).
	AccountsAsked int
}

// Polling measures polls of idle resources at scale.
func Polling(ctx context.Context, cfg PollingConfig) (*PollingResult, error) {
	if cfg.InstanceResources <= 0 {
		cfg.InstanceResources = 10000
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15
	}
	if cfg.IntervalUnit <= 0 {
		cfg.IntervalUnit = time.Second
	}
	cfg.Accounts = max(cfg.Accounts, 1)
	interval := time.Duration(cfg.Interval) * cfg.IntervalUnit
	if cfg.Duration <= 0 {
		cfg.Duration = 2 * interval
	}
	progress := quietIfNil(cfg.Progress)
	m := metrics.New(nil, nil)
	var (
		mu    sync.Mutex
		lates []time.Duration
		on    atomic.Bool
	)
	m.OnPollStart = func(late time.Duration) {
		if on.Load() {
			mu.Lock()
			lates = append(lates, late)
			mu.Unlock()
		}
	}
	spread := interval
	if cfg.Herd {
		spread = 0
	}
	app := "pollhook-bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if strings.HasPrefix(cfg.Database, "postgres") {
		var err error
		if cfg.Database, err = tagDSN(cfg.Database, app); err != nil {
			return nil, err
		}
	}
	var sp *simProcess
	if cfg.Executable != "" {
		var err error
		if sp, err = startSim(ctx, simCommand{Executable: cfg.Executable, Env: cfg.SimEnv, Records: 3, Seed: 1, Accounts: cfg.Accounts}); err != nil {
			return nil, err
		}
		defer sp.stop()
	}
	r, err := newRigOn(ctx, cfg.Database, sp, sim.Config{Records: 3, DailyQuota: -1, Accounts: cfg.Accounts}, jobs.Config{IntervalUnit: cfg.IntervalUnit, Metrics: m,
		Workers: cfg.Workers, FirstPollSpread: spread, FetchInterval: cfg.FetchInterval})
	if err != nil {
		return nil, err
	}
	defer r.close()
	requests := &r.requests
	if len(r.simKeys) != cfg.Accounts {
		return nil, fmt.Errorf("bench: the simulator has %d accounts' keys, not %d", len(r.simKeys), cfg.Accounts)
	}
	res := &PollingResult{Dialect: r.st.Dialect(), InstanceResources: cfg.InstanceResources, Interval: interval, Herd: cfg.Herd,
		Accounts: cfg.Accounts, Offered: float64(cfg.InstanceResources) / interval.Seconds()}

	// Instances through the instance service, as the API makes them; the
	// engine is not running yet: their first polls are spread over the
	// interval from now (or, with Herd, all due at once).
	instances := (cfg.InstanceResources + 3) / 4
	progress("creating %d instances (%d instance-resources) over %d accounts on %s", instances, instances*4, cfg.Accounts, res.Dialect)
	ids := make([]int64, instances) // instance i's ID; its account is i % Accounts
	start := time.Now()
	var created atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < instances; i += 8 {
				v, err := r.createAs(ctx, r.simKeys[i%cfg.Accounts], fmt.Sprintf("poll %d", i), "http://127.0.0.1:9/idle", cfg.Interval, nil)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				ids[i] = v.ID
				if n := created.Add(1); n%1000 == 0 {
					progress("%d instances", n)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	res.Setup = time.Since(start)
	res.InstanceResources = instances * 4
	res.Offered = float64(res.InstanceResources) / interval.Seconds()

	progress("polling: one interval (%s) of warm-up, then %s measured", interval, cfg.Duration)
	if err := r.engine.Start(ctx); err != nil {
		return nil, err
	}
	// Warm-up: every resource polled once (a first poll has no due time
	// to be late against), then half an interval more.
	warm := time.Now().Add(3*interval + 30*time.Second)
	for {
		var never int
		r.st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM polls WHERE runs = 0`).Scan(&never)
		if never == 0 {
			break
		}
		if time.Now().After(warm) {
			res.Backlog = never
			break
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case <-time.After(interval / 2):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	req0, polls0 := requests.Load(), okPolls(r, ctx)
	sql0 := r.st.Counts()
	cpu := startCPU(ctx, sp, r.st, app)
	on.Store(true)
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	on.Store(false)
	self, simCPU, dbCPU := cpu()
	sql := r.st.Counts().Sub(sql0)
	req1, polls1 := requests.Load(), okPolls(r, ctx)
	res.Polls = int(polls1 - polls0)
	if res.Polls > 0 {
		n := time.Duration(res.Polls)
		res.CPUPerPoll, res.SimCPUPerPoll, res.DatabaseCPUPerPoll = self/n, simCPU/n, dbCPU/n
		res.StatementsPerPoll = float64(sql.Statements) / float64(res.Polls)
		res.TransactionsPerPoll = float64(sql.Transactions) / float64(res.Polls)
	}
	res.Sustained = float64(res.Polls) / cfg.Duration.Seconds()
	if res.Polls > 0 {
		res.RequestsPerPoll = float64(req1-req0) / float64(res.Polls)
	}
	mu.Lock()
	sorted := sortedDurations(lates)
	mu.Unlock()
	res.LateP50, res.LateP99 = percentile(sorted, 0.5), percentile(sorted, 0.99)
	res.RSS = peakRSS()
	res.DatabaseBytes = databaseBytes(ctx, r)
	if res.AccountsPolled, err = accountsPolled(ctx, r, ids, cfg.Accounts); err != nil {
		return nil, err
	}
	if r.sim != nil {
		for _, s := range r.sim.Stats() {
			if s.Requests > 0 {
				res.AccountsAsked++
			}
		}
	}
	return res, nil
}

// accountsPolled counts the accounts every poll of whose instances has
// run: ids[i] is instance i's, of account i % accounts.
func accountsPolled(ctx context.Context, r *rig, ids []int64, accounts int) (int, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT instance_id, MIN(runs) FROM polls GROUP BY instance_id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	ran := map[int64]bool{}
	for rows.Next() {
		var id int64
		var runs int
		if err := rows.Scan(&id, &runs); err != nil {
			return 0, err
		}
		ran[id] = runs > 0
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	short := make([]bool, accounts)
	for i, id := range ids {
		if !ran[id] {
			short[i%accounts] = true
		}
	}
	n := 0
	for _, s := range short {
		if !s {
			n++
		}
	}
	return n, nil
}

// okPolls counts poll runs so far, from the polls table (idle polls do
// not fail: the simulator has no limits here).
func okPolls(r *rig, ctx context.Context) int64 {
	var n int64
	r.st.DB().QueryRowContext(ctx, `SELECT COALESCE(SUM(runs), 0) FROM polls`).Scan(&n)
	return n
}

func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func databaseBytes(ctx context.Context, r *rig) int64 {
	if r.st.Dialect() == store.Postgres {
		var n int64
		r.st.DB().QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n)
		return n
	}
	var total int64
	if r.tmp != "" {
		matches, _ := filepath.Glob(filepath.Join(r.tmp, "bench.db*"))
		for _, f := range matches {
			if st, err := os.Stat(f); err == nil {
				total += st.Size()
			}
		}
	}
	return total
}

// Format prints the result.
func (r *PollingResult) Format() string {
	start := "first polls spread over one interval"
	if r.Herd {
		start = "every first poll at once (--herd)"
	}
	return fmt.Sprintf(`polling on %s: %d instance-resources every %s, nothing changing upstream, %s
  accounts                    %8d  (instances spread over them in turn; %d with every poll run%s)
  offered                     %8.1f polls/s
  sustained                   %8.1f polls/s  (%d polls measured)
  start delay                 p50 %s  p99 %s
  upstream requests per poll  %8.2f
  CPU per poll                %s
  SQL per poll                %.1f statements, %.2f transactions (pollhook's and River's)
  peak RSS                    %8.0f MiB  (pollhook and the bench%s)
  database                    %8.1f MiB
  setup                       %s to create the instances%s
`, r.Dialect, r.InstanceResources, r.Interval, start, r.Accounts, r.AccountsPolled, r.asked(), r.Offered, r.Sustained, r.Polls,
		r.LateP50.Round(time.Millisecond), r.LateP99.Round(time.Millisecond), r.RequestsPerPoll, r.cpuLine(), r.StatementsPerPoll, r.TransactionsPerPoll,
		float64(r.RSS)/(1<<20), simInProcess(r.SimCPUPerPoll), float64(r.DatabaseBytes)/(1<<20), r.Setup.Round(time.Second), backlog(r.Backlog))
}

// startCPU starts counting CPU time: the returned function says how much
// this process, the simulator process (if any) and, on PostgreSQL, this
// pool's backends (app: their application_name; when this host shows
// them) used since.
func startCPU(ctx context.Context, sp *simProcess, st *store.Store, app string) func() (self, simulator, database time.Duration) {
	simCPU := func() time.Duration {
		if sp == nil {
			return 0
		}
		return sp.cpu()
	}
	backends := func() map[int]time.Duration {
		if st.Dialect() != store.Postgres {
			return nil
		}
		return backendsCPU(ctx, st.DB(), app)
	}
	self0, sim0, db0 := procCPU("self"), simCPU(), backends()
	return func() (time.Duration, time.Duration, time.Duration) {
		return procCPU("self") - self0, simCPU() - sim0, backendsCPUSince(db0, backends())
	}
}

func (r *PollingResult) cpuLine() string {
	line := fmt.Sprintf("%s pollhook", micros(r.CPUPerPoll))
	if r.SimCPUPerPoll > 0 {
		line += fmt.Sprintf(", %s the simulator", micros(r.SimCPUPerPoll))
	} else {
		line += " (with the simulator, in this process)"
	}
	if r.DatabaseCPUPerPoll > 0 {
		line += fmt.Sprintf(", %s PostgreSQL (its backends serving this process)", micros(r.DatabaseCPUPerPoll))
	}
	return line
}

func (r *PollingResult) asked() string {
	if r.AccountsAsked == 0 {
		return ""
	}
	return fmt.Sprintf(", %d asked upstream", r.AccountsAsked)
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func simInProcess(simCPU time.Duration) string {
	if simCPU > 0 {
		return "; the simulator is a process of its own"
	}
	return " and the simulator, in one process"
}

func backlog(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("\n  BACKLOG                     %d resources still never polled after three intervals", n)
}
