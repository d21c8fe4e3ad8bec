package bench

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// TestMain lets the test binary play `pollhook sim insightly` for the
// backfill bench, which runs the simulator as a child process (package
// app, which has the real command, imports this one).
func TestMain(m *testing.M) {
	if os.Getenv("POLLHOOK_BENCH_TEST_SIM") == "1" {
		os.Exit(simMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// simMain is `sim insightly` with the flags the bench passes, printing the
// lines it reads as internal/app/sim.go prints them.
func simMain(args []string) int {
	if len(args) < 2 || args[0] != "sim" || args[1] != "insightly" {
		return 2
	}
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "")
	var cfg sim.Config
	fs.IntVar(&cfg.Records, "records", 200, "")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", sim.RateLimitDefault, "")
	fs.IntVar(&cfg.DailyQuota, "daily-quota", 0, "")
	fs.IntVar(&cfg.Accounts, "accounts", 1, "")
	if err := fs.Parse(args[2:]); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return 1
	}
	s := sim.New(cfg)
	fmt.Printf("Insightly v3.1 simulator: seed %d, %d records per core object, churn 0/s\n", cfg.Seed, cfg.Records)
	fmt.Printf("  base URL  http://%s/v3.1\n", ln.Addr())
	for _, a := range s.Accounts() {
		fmt.Printf("  API key   %s   (%s, plan %s, owner)\n", a.Keys[0], a.Name, a.Plan)
		for _, k := range a.Keys[1:] {
			fmt.Printf("  API key   %s   (%s, user)\n", k, a.Name)
		}
	}
	http.Serve(ln, s.Handler())
	return 0
}

// The benchmarks are commands, not tests, but they must keep working:
// small runs, checked for figures that make sense.
func TestDeliveryBenchRuns(t *testing.T) {
	t.Parallel()
	res, err := Delivery(context.Background(), DeliveryConfig{Notifications: 200, Callbacks: 2, Rate: 50, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ceiling <= 0 || res.Throughput <= 0 || res.Latencies != 50 || res.P50 <= 0 || res.P99 < res.P50 || res.FloorP50 <= 0 {
		t.Errorf("result: %+v", res)
	}
}

func TestPollingBenchRuns(t *testing.T) {
	t.Parallel()
	res, err := Polling(context.Background(), PollingConfig{InstanceResources: 8, Interval: 2, IntervalUnit: 500 * time.Millisecond,
		Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 8 idle resources due every second for 3 s; each idle poll asks
	// Insightly exactly once, give or take the polls in flight at either
	// end of the window (under a loaded machine, up to half the 8 at each
	// end: the window is short). Two requests a poll would be far outside.
	if res.Polls < 8 || math.Abs(res.RequestsPerPoll-1) > 4/float64(res.Polls) || res.LateP99 < res.LateP50 || res.RSS <= 0 || res.DatabaseBytes <= 0 {
		t.Errorf("result: %+v", res)
	}
}

// Instances spread over three accounts: each account's key is asked
// upstream and every account's polls run, in this process's simulator
// and in one run as a process (whose printed keys the bench reads).
func TestPollingBenchAccounts(t *testing.T) {
	t.Parallel()
	for _, exe := range []string{"", os.Args[0]} {
		cfg := PollingConfig{InstanceResources: 24, Interval: 2, IntervalUnit: 500 * time.Millisecond,
			Duration: 2 * time.Second, Accounts: 3, Executable: exe, SimEnv: []string{"POLLHOOK_BENCH_TEST_SIM=1"}}
		res, err := Polling(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		asked := 3
		if exe != "" {
			asked = 0 // not counted: the simulator is a process
		}
		if res.Accounts != 3 || res.AccountsPolled != 3 || res.AccountsAsked != asked || res.Backlog != 0 || res.Polls < 24 {
			t.Errorf("simulator process %v: %+v", exe != "", res)
		}
		if out := res.Format(); !strings.Contains(out, "accounts                           3") {
			t.Errorf("format:\n%s", out)
		}
	}
}

func TestChangeBenchRuns(t *testing.T) {
	t.Parallel()
	res, err := Change(context.Background(), ChangeConfig{Instances: 1, Churn: 10, Interval: 1, IntervalUnit: time.Second, Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Changes wait for the next poll: never negative, rarely more than
	// two intervals on a loaded machine.
	if res.Events == 0 || res.P50 <= 0 || res.P99 < res.P50 || res.Max > 10*res.Interval {
		t.Errorf("result: %+v", res)
	}
}

func TestStateBenchRuns(t *testing.T) {
	// Not parallel: it runs before the timing-sensitive benches above start.
	res, err := State(context.Background(), StateConfig{Records: 2000, Lookups: 20})
	if err != nil {
		t.Fatal(err)
	}
	// A row holds 67 bytes of values; with its primary-key entry and the
	// pages' overhead it costs more, but not ten times more.
	if bpr := res.BytesPerRecord(); res.IndexBytes <= 0 || bpr < float64(res.PayloadBytes) || bpr > 10*float64(res.PayloadBytes) {
		t.Errorf("%.1f bytes/record (table %d, index %d): %+v", bpr, res.TableBytes, res.IndexBytes, res)
	}
	if res.Pages != 4 || res.Write <= 0 || res.LookupP50 <= 0 || res.LookupP99 < res.LookupP50 {
		t.Errorf("result: %+v", res)
	}
}

func TestBackfillBenchRuns(t *testing.T) {
	// Not parallel: it runs before the timing-sensitive benches above start.
	res, err := Backfill(context.Background(), BackfillConfig{Records: 2000, Executable: os.Args[0],
		SimEnv: []string{"POLLHOOK_BENCH_TEST_SIM=1"}, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Every record is in the window: read once, reported once (CREATED or
	// UPDATED), marked backfill; its notifications all delivered.
	if res.Read != 2000 || res.Events != 2000 || res.Objects != 2000 || res.Backfill != 2000 || res.Created == 0 || res.Created == res.Events {
		t.Errorf("records and events: %+v", res)
	}
	if res.Waiting != 0 || res.Notifications < 200 {
		t.Errorf("notifications: %+v", res)
	}
	if res.StartRSS <= 0 || res.PeakRSS < res.StartRSS || res.PeakHeap <= 0 || res.Samples == 0 || res.SimRSS <= 0 {
		t.Errorf("memory: %+v", res)
	}
}

func TestReconcileBenchRuns(t *testing.T) {
	// Not parallel, as the state bench.
	res, err := Reconcile(context.Background(), ReconcileConfig{InstanceResources: 400, Lost: 10, Before: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Restore.Recreated != 400 || res.Healthy.Recreated != 0 || res.Healthy.Transactions != 0 ||
		res.Repair.Recreated != 10 || res.Repair.Transactions != 1 || res.HealthyBefore.Transactions != 400 {
		t.Errorf("result: %+v, before %+v", res, res.HealthyBefore)
	}
}

// Not parallel: beside the other benches under -race on two cores, a
// prune batch could wait out SQLite's 10 s busy timeout behind their
// writers and fail the run.
func TestPruneBenchRuns(t *testing.T) {
	res, err := Prune(context.Background(), PruneConfig{Events: 2000, BatchSize: 100, Baseline: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, u := res.Batched, res.Unbatched
	if b.Prune.Events.Rows != 1000 || b.Prune.Events.Batches != 10 || b.Prune.Notifications.Batches != 5 ||
		u.Prune.Rows() != 1500 || u.Prune.Batches() != 2 || res.DatabaseBytes <= 0 {
		t.Errorf("prunes: %+v", res)
	}
	if res.Baseline.Offered == 0 || res.Baseline.P50 <= 0 || res.Baseline.P99 < res.Baseline.P50 || b.Time <= 0 || b.Longest <= 0 {
		t.Errorf("result: %+v", res)
	}
}

func TestSnapshotsBenchRuns(t *testing.T) {
	// Not parallel, as the state bench.
	const records = 1000
	res, err := Snapshots(context.Background(), SnapshotsConfig{Records: records, Seed: 1, Full: true, Executable: os.Args[0],
		SimEnv: []string{"POLLHOOK_BENCH_TEST_SIM=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != records || res.Pages != 2 || res.Stored <= 0 || res.Stored >= res.RawBytes || res.Plain <= 0 || res.Snapshots <= 0 {
		t.Errorf("writes: %+v", res)
	}
	f := res.Full
	if f == nil {
		t.Fatal("no full scans")
	}
	// The paging-safe scan reads pages of 500 that overlap by 50, until
	// one comes back short: for 1,000 records, at offsets 0, 450 and 900.
	pages := int64(1)
	for offset := 0; offset+500 <= records; offset += 450 {
		pages++
	}
	// Every record read once and kept: each ID learnt by the delete scan,
	// each version observed by the baseline, with its snapshot stored.
	// (The baseline leaves a record updated within the next poll's window
	// to that poll; seed 1's newest of 1,000 contacts is hours older than
	// the simulator's start, far outside it.)
	for name, run := range map[string]ScanRun{"delete scan": f.Plain, "baseline": f.Baseline} {
		if run.Read != records || run.Kept != records || run.Stored != records || run.Requests != pages {
			t.Errorf("%s: %d read, %d kept, %d stored, %d requests (want %d of each, %d requests)", name,
				run.Read, run.Kept, run.Stored, run.Requests, records, pages)
		}
		if run.Wall <= 0 || run.PeakRSS <= 0 {
			t.Errorf("%s: %+v", name, run)
		}
	}
	if out := res.Format(); !strings.Contains(out, "baseline with snapshots") {
		t.Errorf("format:\n%s", out)
	}
}
