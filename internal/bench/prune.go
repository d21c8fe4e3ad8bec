package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// PruneConfig says how much history the prune benchmark fills and how
// it loads the server meanwhile.
type PruneConfig struct {
	Database  string        // "" for a temporary SQLite file
	Events    int           // old events stored, two per delivered notification; default 2,000,000
	BatchSize int           // the batched prune's; default store.PruneBatchDefault
	Pause     time.Duration // between the batched prune's batches
	Rate      float64       // notifications/s offered during each phase; default 50
	Baseline  time.Duration // length of the phase without a prune; default 20 s
	Progress  func(format string, args ...any)
}

// PruneResult is what it measured.
type PruneResult struct {
	Dialect                      string
	Events, Notifications        int // stored, in all; each prune deletes half
	FillTime                     time.Duration
	DatabaseBytes                int64 // the SQLite files, or the PostgreSQL schema's tables with their indexes
	Rate                         float64
	Baseline, Batched, Unbatched PrunePhase
}

// PrunePhase is one phase: delivery latency at the offered rate, beside
// a prune (none for the baseline).
type PrunePhase struct {
	Prune    store.PruneResult
	Time     time.Duration // the prune's
	Longest  time.Duration // its longest batch
	Offered  int           // notifications committed at the rate, or failing to
	Failed   int           // commits that failed (the database busy beyond its timeout)
	Late     int           // committed but not received within a minute of the phase
	P50, P99 time.Duration // offer (the transaction begins) → receipt: a commit's wait included
	Max      time.Duration
	// CommitP99 and CommitMax are how long a notification's transaction
	// took, from its beginning to its commit (or failure): what a poll
	// committing its events waits.
	CommitP99, CommitMax time.Duration
}

// RowsPerSecond is the prune's pace.
func (p PrunePhase) RowsPerSecond() float64 { return float64(p.Prune.Rows()) / p.Time.Seconds() }

// Prune measures the retention prune at volume: it fills the database
// with old events of delivered notifications (with their attempts), then
// delivers notifications at a steady rate to a loopback receiver three
// times: alone (the baseline), beside the batched prune of the older
// half, and beside the unbatched prune (one statement per table, as
// before batches) of the rest.
func Prune(ctx context.Context, cfg PruneConfig) (*PruneResult, error) {
	if cfg.Events <= 0 {
		cfg.Events = 2_000_000
	}
	cfg.Events += cfg.Events % 4 // two halves of whole notifications
	if cfg.BatchSize == 0 {
		cfg.BatchSize = store.PruneBatchDefault
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 50
	}
	if cfg.Baseline <= 0 {
		cfg.Baseline = 20 * time.Second
	}
	progress := quietIfNil(cfg.Progress)
	rv, err := newReceiver()
	if err != nil {
		return nil, err
	}
	defer rv.close()
	// The engine's own hourly prune must find nothing: the bench prunes.
	r, err := newRig(ctx, cfg.Database, sim.Config{Records: 0}, jobs.Config{Retention: 100 * 365 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &PruneResult{Dialect: r.st.Dialect(), Events: cfg.Events, Notifications: cfg.Events / 2, Rate: cfg.Rate}
	url := rv.url + "/hook/0"
	if _, err := r.create(ctx, "bench", url, 1440, map[string]any{"contacts": map[string]any{}}); err != nil {
		return nil, err
	}
	cb, err := r.st.CallbackFor(ctx, r.caller.Org.ID, url)
	if err != nil {
		return nil, err
	}
	insts, err := r.st.Instances(ctx, r.caller.Org.ID, store.InstanceFilter{})
	if err != nil || len(insts) != 1 {
		return nil, fmt.Errorf("bench: instances: %v", err)
	}
	h := &history{st: r.st, orgID: r.caller.Org.ID, instanceID: insts[0].ID, callbackID: cb.ID}

	// Two months of history, the older half 60 days old and the rest 45.
	now := time.Now()
	t0 := time.Now()
	half := cfg.Events / 4 // notifications per half
	for i, age := range []time.Duration{60 * 24 * time.Hour, 45 * 24 * time.Hour} {
		if err := h.fill(ctx, i*half, half, now.Add(-age), progress); err != nil {
			return nil, err
		}
	}
	res.FillTime = time.Since(t0)
	res.DatabaseBytes = databaseBytes(ctx, r)
	progress("filled %d events and %d notifications in %s: %.2f GiB", res.Events, res.Notifications,
		res.FillTime.Round(time.Second), float64(res.DatabaseBytes)/(1<<30))

	if err := r.engine.Start(ctx); err != nil {
		return nil, err
	}
	l := &load{r: r, rv: rv, callbackID: cb.ID, instanceID: insts[0].ID, rate: cfg.Rate}
	progress("baseline: %g notifications/s for %s without a prune", cfg.Rate, cfg.Baseline)
	if res.Baseline, err = l.phase(ctx, cfg.Baseline, nil); err != nil {
		return nil, err
	}
	progress("batched prune (%d rows a batch) of the older half, under load", cfg.BatchSize)
	if res.Batched, err = l.phase(ctx, 0, prune(r.st, store.PruneOptions{Before: now.Add(-50 * 24 * time.Hour),
		BatchSize: cfg.BatchSize, Pause: cfg.Pause})); err != nil {
		return nil, err
	}
	progress("unbatched prune of the rest, under load")
	if res.Unbatched, err = l.phase(ctx, 0, prune(r.st, store.PruneOptions{Before: now.Add(-24 * time.Hour),
		BatchSize: store.PruneUnbatched})); err != nil {
		return nil, err
	}
	for _, p := range []PrunePhase{res.Batched, res.Unbatched} {
		if p.Prune.Events.Rows != int64(cfg.Events/2) || p.Prune.Notifications.Rows != int64(half) {
			return nil, fmt.Errorf("bench: a prune deleted %+v, want %d events and %d notifications", p.Prune, cfg.Events/2, half)
		}
	}
	return res, nil
}

// history writes old events, notifications and attempts in bulk: each
// chunk is three INSERT … SELECT statements over a generated series, in
// one transaction, so that millions of rows take minutes, not hours.
type history struct {
	st                            *store.Store
	orgID, instanceID, callbackID int64
}

// fillChunk is how many notifications one transaction writes.
const fillChunk = 20_000

// fill writes n delivered notifications numbered from first, each with
// one attempt and two events, recorded at (about) at.
func (h *history) fill(ctx context.Context, first, n int, at time.Time, progress func(string, ...any)) error {
	data := `{"CONTACT_ID":366639103,"FIRST_NAME":"Ada","LAST_NAME":"Lovelace","EMAIL_ADDRESS":"ada@example.com",` +
		`"BACKGROUND":"` + strings.Repeat("x", 400) + `","CUSTOMFIELDS":[],"TAGS":[],"LINKS":[]}`
	b := body("0123456789abcdef01234567")
	series := `WITH RECURSIVE x(i) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT i + 1 FROM x WHERE i < ?) `
	for start := first; start < first+n; start += fillChunk {
		end := min(start+fillChunk, first+n) - 1
		// A second per chunk, so that the prune walks its indexes in order.
		when := at.Add(time.Duration(start-first) / fillChunk * time.Second).UTC()
		err := h.st.InTx(ctx, func(tx *store.Tx) error {
			db := tx.SQL()
			if _, err := db.ExecContext(ctx, h.st.Rebind(series+`INSERT INTO notifications (id, org_id, instance_id, callback_id,
				resource, body, status, attempts, created_at, updated_at, delivered_at)
				SELECT 'old-' || CAST(i AS TEXT), ?, ?, ?, 'contacts', ?, 'delivered', 1, ?, ?, ? FROM x`),
				start, end, h.orgID, h.instanceID, h.callbackID, b, when, when, when); err != nil {
				return fmt.Errorf("bench: fill notifications: %w", err)
			}
			if _, err := db.ExecContext(ctx, h.st.Rebind(`INSERT INTO attempts (notification_id, at, status_code, latency_ms, response)
				SELECT seq, ?, 200, 12, 'ok' FROM notifications WHERE created_at = ? AND status = 'delivered'`), when, when); err != nil {
				return fmt.Errorf("bench: fill attempts: %w", err)
			}
			if _, err := db.ExecContext(ctx, h.st.Rebind(series+`INSERT INTO events (id, org_id, instance_id, resource, object_id,
				event_type, event_date, poll_date, status, provider_data, created_at, notification_id)
				SELECT 'old-' || CAST(i AS TEXT), ?, ?, 'contacts', CAST(i AS TEXT), 'UPDATED', ?, ?, 'NOTIFIED', ?, ?,
				(SELECT seq FROM notifications WHERE id = 'old-' || CAST(i / 2 AS TEXT)) FROM x`),
				2*start, 2*end+1, h.orgID, h.instanceID, when, when, data, when); err != nil {
				return fmt.Errorf("bench: fill events: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if done := end + 1 - first; done%(10*fillChunk) == 0 || done == n {
			progress("%d notifications stored (and twice as many events), recorded %s", end+1, when.Format(time.DateOnly))
		}
	}
	return nil
}

// pruneRun is a prune to run beside a phase's load; it fills the
// phase's prune figures.
type pruneRun func(ctx context.Context, p *PrunePhase) error

// prune runs st.Prune with o, timing it and its longest batch.
func prune(st *store.Store, o store.PruneOptions) pruneRun {
	return func(ctx context.Context, p *PrunePhase) error {
		start := time.Now()
		last := start
		o.AfterBatch = func(string, store.PruneCount) {
			now := time.Now()
			p.Longest = max(p.Longest, now.Sub(last)-o.Pause)
			last = now
		}
		var err error
		p.Prune, err = st.Prune(ctx, o)
		p.Time = time.Since(start)
		return err
	}
}

// load offers notifications at a steady rate, each committed in its own
// transaction as a poll run commits it, and times each from the offer
// (its transaction begins) to its receipt: a commit that waits for the
// database counts, as a poll's would.
type load struct {
	r                      *rig
	rv                     *receiver
	callbackID, instanceID int64
	rate                   float64
	seq                    int
}

// phase offers the load for d, or while run runs when it is not nil.
func (l *load) phase(ctx context.Context, d time.Duration, run pruneRun) (PrunePhase, error) {
	var p PrunePhase
	l.rv.reset(-1)
	stop := make(chan struct{})
	var pruneErr error
	var wg sync.WaitGroup
	if run == nil {
		time.AfterFunc(d, func() { close(stop) })
	} else {
		wg.Go(func() {
			defer close(stop)
			pruneErr = run(ctx, &p)
		})
	}
	committed := map[string]time.Time{} // id → when offered
	var commits []time.Duration
	tick := time.NewTicker(time.Duration(float64(time.Second) / l.rate))
	defer tick.Stop()
	for offering := true; offering; {
		select {
		case <-stop:
			offering = false
			continue
		case <-ctx.Done():
			return p, ctx.Err()
		case <-tick.C:
		}
		l.seq++
		id := fmt.Sprintf("p%09d", l.seq)
		p.Offered++
		begun := time.Now()
		err := l.r.st.InTx(ctx, func(tx *store.Tx) error {
			n := &store.Notification{ID: id, OrgID: l.r.caller.Org.ID, InstanceID: l.instanceID, CallbackID: l.callbackID,
				Resource: "contacts", Body: body(id)}
			if err := tx.InsertNotification(ctx, n, nil); err != nil {
				return err
			}
			return l.r.engine.Enqueue(ctx, tx, l.callbackID)
		})
		commits = append(commits, time.Since(begun))
		if err != nil {
			p.Failed++
			continue
		}
		committed[id] = begun
	}
	wg.Wait()
	commits = sortedDurations(commits)
	if len(commits) > 0 {
		p.CommitP99, p.CommitMax = percentile(commits, 0.99), commits[len(commits)-1]
	}
	if pruneErr != nil {
		return p, pruneErr
	}
	lat := l.latencies(ctx, committed, &p)
	p.P50, p.P99 = percentile(lat, 0.5), percentile(lat, 0.99)
	if len(lat) > 0 {
		p.Max = lat[len(lat)-1]
	}
	return p, nil
}

// latencies waits up to a minute for the committed notifications, and
// returns the commit-to-receipt times of those that arrived, sorted.
func (l *load) latencies(ctx context.Context, committed map[string]time.Time, p *PrunePhase) []time.Duration {
	deadline := time.Now().Add(time.Minute)
	for {
		arrived := l.rv.arrivals()
		missing := 0
		for id := range committed {
			if _, ok := arrived[id]; !ok {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			p.Late = missing
			var lat []time.Duration
			for id, at := range committed {
				if got, ok := arrived[id]; ok {
					lat = append(lat, got.Sub(at))
				}
			}
			return sortedDurations(lat)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Format prints the result.
func (r *PruneResult) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "retention prune on %s: %d old events of %d delivered notifications (one attempt each), filled in %s\n",
		r.Dialect, r.Events, r.Notifications, r.FillTime.Round(time.Second))
	fmt.Fprintf(&b, "  database                    %8.2f GiB before pruning\n", float64(r.DatabaseBytes)/(1<<30))
	fmt.Fprintf(&b, "  delivery at %g/s offered, offer → receipt (commit's wait included), and the commit alone:\n", r.Rate)
	for _, ph := range []struct {
		name string
		p    PrunePhase
	}{{"no prune (baseline)", r.Baseline}, {"batched prune", r.Batched}, {"unbatched prune", r.Unbatched}} {
		p := ph.p
		fmt.Fprintf(&b, "  %-27s p50 %s  p99 %s  max %s; commit p99 %s  max %s  (%d offered, %d commits failed, %d not received)\n", ph.name,
			p.P50.Round(100*time.Microsecond), p.P99.Round(100*time.Microsecond), p.Max.Round(time.Millisecond),
			p.CommitP99.Round(100*time.Microsecond), p.CommitMax.Round(time.Millisecond), p.Offered, p.Failed, p.Late)
		if p.Prune.Rows() > 0 {
			fmt.Fprintf(&b, "  %-27s %d rows in %s: %.0f rows/s, %d batches, longest %s\n", "", p.Prune.Rows(),
				p.Time.Round(time.Millisecond), p.RowsPerSecond(), p.Prune.Batches(), p.Longest.Round(time.Millisecond))
		}
	}
	return b.String()
}
