package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/poller"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// SnapshotsConfig sizes the snapshots benchmark.
type SnapshotsConfig struct {
	Database string // "" for a temporary SQLite file
	Records  int    // contacts, as the simulator generates them; default 100,000
	PageSize int    // records per transaction, as a baseline scan writes them; default 500
	Seed     uint64
	// Full also runs the poller's real baseline scan (Runner.Baseline)
	// of a contacts resource with snapshots, reading Records contacts from
	// the simulator as a child process through the Insightly client,
	// beside a delete scan of the same contacts without snapshots
	// (Runner.ScanDeletes, IDs only).
	Full bool
	// Executable is the pollhook binary that runs the simulator ("" for
	// this one); SimEnv is added to its environment (tests).
	Executable string
	SimEnv     []string
	// AnalyzeEvery, on PostgreSQL, runs ANALYZE on the schema's tables
	// this often during the full scans, as autovacuum does on a server
	// that runs it (0: never).
	AnalyzeEvery time.Duration
	Progress     func(format string, args ...any)
}

// SnapshotsResult is what it measured.
type SnapshotsResult struct {
	Dialect    string
	Records    int
	RawBytes   float64       // a record's JSON, as Insightly sends it, on average
	Stored     float64       // its snapshot as stored (deflated), on average
	Plain      time.Duration // writing every record's state without a snapshot: the same-run baseline
	Snapshots  time.Duration // writing every record's state with its snapshot, as a baseline scan does
	ReadPage   time.Duration // reading a page of states with their snapshots (inflated), median
	Pages      int
	UpstreamAt float64    // requests per second the upstream allows (Insightly's default pace)
	Full       *FullScans // nil unless Config.Full
}

// FullScans are the measured full scans: the poller's own, through the
// Insightly client, from a simulator process without a rate limit.
type FullScans struct {
	SimStart time.Duration // the simulator's start (generating its records): not measured
	Plain    ScanRun       // a delete scan of a resource without snapshots: the same-run baseline
	Baseline ScanRun       // the baseline scan of a resource with snapshots
	// PostgreSQL: the server's autovacuum setting, and the ANALYZE passes
	// the bench ran during the scans (AnalyzeEvery).
	Autovacuum string
	Analyzed   int
}

// ScanRun is one measured scan.
type ScanRun struct {
	Read     int // records the scan read
	Kept     int // records it kept: IDs learnt (delete scan), versions observed (baseline)
	Stored   int // what the resource's state holds afterwards: known IDs (delete scan), snapshots (baseline)
	Requests int64
	Wall     time.Duration
	// CPU time over the scan: this process's (user and system), the
	// simulator's, and on PostgreSQL its backends serving this process
	// (0 when this host does not show them).
	CPU, SimCPU, DatabaseCPU time.Duration
	PeakRSS                  int64 // this process's peak RSS during the scan (VmHWM, reset before it)
}

// Snapshots measures what record snapshots cost: bytes per record stored,
// and a baseline scan's database work for Records records beside writing
// the same states without snapshots. With Full, it also measures the
// poller's whole baseline scan beside a delete scan without snapshots
// (snapshotsFull). The upstream's pace is computed, not measured: it is
// Insightly's (the simulator runs without a rate limit).
func Snapshots(ctx context.Context, cfg SnapshotsConfig) (*SnapshotsResult, error) {
	cfg.Records = max(cfg.Records, 0)
	if cfg.Records == 0 {
		cfg.Records = 100_000
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 500
	}
	res, err := snapshotWrites(ctx, cfg)
	if err != nil || !cfg.Full {
		return res, err
	}
	// The records generated here are garbage now: give their memory back,
	// so that the full scans' peak RSS is theirs.
	runtime.GC()
	debug.FreeOSMemory()
	res.Full, err = snapshotsFull(ctx, cfg)
	return res, err
}

// snapshotWrites is the database work alone: states written a page at a
// time through the store, with and without snapshots, on a store of
// their own.
func snapshotWrites(ctx context.Context, cfg SnapshotsConfig) (*SnapshotsResult, error) {
	progress := quietIfNil(cfg.Progress)
	progress("generating %d contacts", cfg.Records)
	s := sim.New(sim.Config{Records: cfg.Records, Seed: cfg.Seed})
	recs, err := s.Records(s.APIKey(), "Contacts")
	if err != nil {
		return nil, err
	}
	raws := make(map[string][]byte, len(recs))
	var rawBytes int
	for _, r := range recs {
		b, _ := json.Marshal(r)
		raws[fmt.Sprint(r["CONTACT_ID"])] = b
		rawBytes += len(b)
	}
	st, _, closeStore, err := openStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	inst, err := storedInstance(ctx, st, "snapshots")
	if err != nil {
		return nil, err
	}
	if _, _, err := st.SyncPolls(ctx, inst.ID, []string{"plain", "contacts"}, 15*time.Minute, time.Now()); err != nil {
		return nil, err
	}
	res := &SnapshotsResult{Dialect: st.Dialect(), Records: len(raws), RawBytes: float64(rawBytes) / float64(len(raws)), UpstreamAt: 5}
	ids := make([]string, 0, len(raws))
	for id := range raws {
		ids = append(ids, id)
	}
	write := func(resource string, withSnapshots bool) (time.Duration, error) {
		start := time.Now()
		for i := 0; i < len(ids); i += cfg.PageSize {
			page := map[string][]byte{}
			for _, id := range ids[i:min(i+cfg.PageSize, len(ids))] {
				if withSnapshots {
					page[id] = raws[id]
				} else {
					page[id] = nil
				}
			}
			if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.PutSnapshots(ctx, inst.ID, resource, page) }); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	progress("writing %d states without snapshots (the baseline)", len(ids))
	if res.Plain, err = write("plain", false); err != nil {
		return nil, err
	}
	progress("writing %d states with their snapshots (a baseline scan)", len(ids))
	if res.Snapshots, err = write("contacts", true); err != nil {
		return nil, err
	}
	res.Pages = (len(ids) + cfg.PageSize - 1) / cfg.PageSize
	var stored int64
	if err := st.DB().QueryRowContext(ctx, `SELECT SUM(LENGTH(snapshot)) FROM seen WHERE resource = 'contacts'`).Scan(&stored); err != nil {
		return nil, err
	}
	res.Stored = float64(stored) / float64(len(ids))
	var reads []time.Duration
	for i := 0; i < len(ids) && len(reads) < 50; i += cfg.PageSize {
		start := time.Now()
		got, err := st.SeenFor(ctx, inst.ID, "contacts", ids[i:min(i+cfg.PageSize, len(ids))])
		if err != nil {
			return nil, err
		}
		reads = append(reads, time.Since(start))
		if len(got) == 0 {
			return nil, fmt.Errorf("bench: no snapshot read back")
		}
	}
	slices.Sort(reads)
	res.ReadPage = percentile(reads, 0.5)
	return res, nil
}

// snapshotsFull runs the poller's scans for real: Records contacts in a
// simulator process without a rate limit, read through the Insightly
// element (pages of 500) by the poller's Runner, on a store of its own
// (a new SQLite file, or the same PostgreSQL schema). Two instances poll
// contacts, one without snapshots and one with; each has had the
// service's first run, which anchors its cursor, before its scan: a
// delete scan (IDs only, the paging-safe scan alone) for the first, the
// baseline (full records, their snapshots written) for the second.
func snapshotsFull(ctx context.Context, cfg SnapshotsConfig) (*FullScans, error) {
	progress := quietIfNil(cfg.Progress)
	full := &FullScans{}
	progress("starting the simulator with %d contacts (a child process)", cfg.Records)
	sp, err := startSim(ctx, simCommand{Executable: cfg.Executable, Env: cfg.SimEnv, Records: cfg.Records, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	defer sp.stop()
	full.SimStart = sp.startup
	dsn, app := cfg.Database, "pollhook-bench-"+strconv.FormatInt(time.Now().UnixNano(), 36)
	if strings.HasPrefix(dsn, "postgres") {
		if dsn, err = tagDSN(dsn, app); err != nil {
			return nil, err
		}
	}
	r, err := newRigOn(ctx, dsn, sp, sim.Config{}, jobs.Config{}) // its engine is never started
	if err != nil {
		return nil, err
	}
	defer r.close()
	if r.st.Dialect() == store.Postgres {
		r.st.DB().QueryRowContext(ctx, `SHOW autovacuum`).Scan(&full.Autovacuum)
	}
	stopAnalyze := analyzeEvery(ctx, r.st, cfg.AnalyzeEvery, &full.Analyzed)
	defer stopAnalyze()
	runner := &poller.Runner{Store: r.st}
	polls := &poller.Service{Store: r.st, Instances: r.svc, Runner: runner}
	target := func(name string, contacts map[string]any) (poller.Target, error) {
		// The callback is never called: the engine that would deliver is
		// not started, and a scan of records that exist reports nothing.
		v, err := r.create(ctx, name, "http://127.0.0.1:9/never", 60, map[string]any{"contacts": contacts})
		if err != nil {
			return poller.Target{}, err
		}
		inst, err := r.st.InstanceByID(ctx, v.ID)
		if err != nil {
			return poller.Target{}, err
		}
		t, err := polls.Target(inst, "contacts")
		if err != nil {
			return poller.Target{}, err
		}
		_, err = runner.Run(ctx, t)
		return t, err
	}
	stored := func(t poller.Target, snapshots bool) (int, error) {
		// A delete scan learns IDs (known_ids); a baseline writes snapshots.
		q := `SELECT COUNT(*) FROM known_ids WHERE instance_id = ? AND resource = ?`
		if snapshots {
			q = `SELECT COUNT(*) FROM seen WHERE instance_id = ? AND resource = ? AND snapshot IS NOT NULL`
		}
		var n int
		err := r.st.DB().QueryRowContext(ctx, r.st.Rebind(q), t.InstanceID, t.Resource).Scan(&n)
		return n, err
	}
	measure := func(scan func() (read, kept int, err error)) (ScanRun, error) {
		var run ScanRun
		runtime.GC()
		resetPeakRSS()
		req0, cpu, start := r.requests.Load(), startCPU(ctx, sp, r.st, app), time.Now()
		read, kept, err := scan()
		run.Wall = time.Since(start)
		run.CPU, run.SimCPU, run.DatabaseCPU = cpu()
		run.PeakRSS, run.Requests, run.Read, run.Kept = procStatus("self", "VmHWM"), r.requests.Load()-req0, read, kept
		return run, err
	}

	plain, err := target("without snapshots", map[string]any{"deletes": map[string]any{"enabled": true}})
	if err != nil {
		return nil, err
	}
	progress("a delete scan of %d contacts without snapshots (the baseline), on %s", cfg.Records, r.st.Dialect())
	if full.Plain, err = measure(func() (int, int, error) {
		s, err := runner.ScanDeletes(ctx, plain)
		if err == nil && !s.Complete {
			err = fmt.Errorf("bench: the delete scan did not complete: %s", s.Note)
		}
		return s.Present, s.Present, err
	}); err != nil {
		return nil, err
	}
	if full.Plain.Stored, err = stored(plain, false); err != nil {
		return nil, err
	}
	snap, err := target("with snapshots", map[string]any{"snapshots": true})
	if err != nil {
		return nil, err
	}
	progress("the baseline scan of %d contacts with snapshots, on %s", cfg.Records, r.st.Dialect())
	if full.Baseline, err = measure(func() (int, int, error) {
		b, err := runner.Baseline(ctx, snap)
		return b.Read, b.Observed, err
	}); err != nil {
		return nil, err
	}
	stopAnalyze()
	if full.Baseline.Stored, err = stored(snap, true); err != nil {
		return nil, err
	}
	return full, nil
}

// Format prints the result.
func (r *SnapshotsResult) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "snapshots on %s: %d contacts, as the simulator generates them\n", r.Dialect, r.Records)
	fmt.Fprintf(&b, "  a record's JSON                %8.0f B\n", r.RawBytes)
	fmt.Fprintf(&b, "  its snapshot, stored           %8.0f B  (%.2f × the JSON)\n", r.Stored, r.Stored/r.RawBytes)
	fmt.Fprintf(&b, "  states without snapshots       %8s  (baseline)\n", r.Plain.Round(time.Millisecond))
	fmt.Fprintf(&b, "  states with snapshots          %8s  (%.2f × the baseline; %d transactions of %d)\n",
		r.Snapshots.Round(time.Millisecond), float64(r.Snapshots)/float64(r.Plain), r.Pages, (r.Records+r.Pages-1)/r.Pages)
	fmt.Fprintf(&b, "  a page of states, read back    %8s  (median, inflated)\n", r.ReadPage.Round(time.Microsecond))
	fmt.Fprintf(&b, "  the baseline's upstream part   %8d requests, %s at %.0f requests/s\n", r.Pages,
		(time.Duration(float64(r.Pages)/r.UpstreamAt) * time.Second).Round(time.Second), r.UpstreamAt)
	if f := r.Full; f != nil {
		fmt.Fprintf(&b, "full scans, measured: the poller's Runner reading %d contacts through the Insightly client, pages of 500,\n", r.Records)
		where := "PostgreSQL's backends apart"
		if r.Dialect != store.Postgres {
			where = "SQLite runs in this process: its CPU is ours"
		}
		fmt.Fprintf(&b, "from the simulator as a process of its own without a rate limit (it took %s to start); %s\n", f.SimStart.Round(time.Second), where)
		fmt.Fprintf(&b, "  %-26s %9s %10s %10s %10s %11s %9s %8s\n", "", "wall", "records/s", "CPU ours", "simulator", "PostgreSQL", "peak RSS", "requests")
		for _, row := range []struct {
			name string
			run  ScanRun
		}{{"delete scan, no snapshots", f.Plain}, {"baseline with snapshots", f.Baseline}} {
			db := "-"
			if row.run.DatabaseCPU > 0 {
				db = fmt.Sprintf("%.1f s", row.run.DatabaseCPU.Seconds())
			}
			fmt.Fprintf(&b, "  %-26s %9s %10.0f %8.1f s %8.1f s %11s %5.0f MiB %8d\n", row.name, row.run.Wall.Round(10*time.Millisecond),
				float64(row.run.Read)/row.run.Wall.Seconds(), row.run.CPU.Seconds(), row.run.SimCPU.Seconds(), db, mib(row.run.PeakRSS), row.run.Requests)
		}
		fmt.Fprintf(&b, "  the baseline against the delete scan: %.2f × the wall time, %.2f × our CPU; %d of %d records observed, %d snapshots stored\n",
			float64(f.Baseline.Wall)/float64(f.Plain.Wall), float64(f.Baseline.CPU)/float64(max(f.Plain.CPU, time.Millisecond)),
			f.Baseline.Kept, f.Baseline.Read, f.Baseline.Stored)
		if n := f.Baseline.Read - f.Baseline.Kept; n > 0 {
			fmt.Fprintf(&b, "  (%d updated within the next poll's window, which the baseline leaves to that poll)\n", n)
		}
		if f.Autovacuum != "" {
			fmt.Fprintf(&b, "  PostgreSQL statistics: autovacuum %s; the bench ran ANALYZE %d times during the scans\n", f.Autovacuum, f.Analyzed)
		}
		fmt.Fprintf(&b, "  the full baseline's upstream part %d requests, %s at %.0f requests/s (computed from the requests made)\n", f.Baseline.Requests,
			(time.Duration(float64(f.Baseline.Requests)/r.UpstreamAt) * time.Second).Round(time.Second), r.UpstreamAt)
	}
	return b.String()
}
