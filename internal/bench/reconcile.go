package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/store"
)

// ReconcileConfig says how many polls the reconcile benchmark keeps.
type ReconcileConfig struct {
	Database          string // "" for a temporary SQLite file
	InstanceResources int    // instances × 4 resources; default 100,000
	Lost              int    // poll jobs deleted behind the engine's back for the repair pass; default 1,000
	// Before also runs a healthy pass as it was before issue 21 (a
	// transaction per poll), on the same database, to compare. Its cost
	// does not depend on how many jobs are lost: it touches every poll.
	Before   bool
	Progress func(format string, args ...any)
}

// ReconcilePass is what one reconcile pass cost.
type ReconcilePass struct {
	Statements, Transactions int64
	Wall                     time.Duration
	Recreated                int // poll jobs inserted
}

// ReconcileResult is what it measured.
type ReconcileResult struct {
	Dialect           string
	InstanceResources int
	Setup             time.Duration
	Lost              int
	// Restore: every poll without a job (a database restored without the
	// engine's tables); only the current pass.
	Restore ReconcilePass
	// Healthy: every job live. Repair: Lost jobs deleted first.
	Healthy, Repair ReconcilePass
	HealthyBefore   *ReconcilePass // with Before
}

// Reconcile measures one reconcile pass (jobs.Engine.Reconcile) over many
// polls, counting statements and transactions with the store's counter.
func Reconcile(ctx context.Context, cfg ReconcileConfig) (*ReconcileResult, error) {
	if cfg.InstanceResources <= 0 {
		cfg.InstanceResources = 100_000
	}
	if cfg.Lost <= 0 {
		cfg.Lost = 1000
	}
	progress := quietIfNil(cfg.Progress)
	st, _, closeStore, err := openStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	// Insert only: no worker runs the jobs, nothing else touches the pool.
	e, err := jobs.New(ctx, jobs.Config{Store: st, Instances: &instance.Service{Store: st}, InsertOnly: true})
	if err != nil {
		return nil, err
	}
	res := &ReconcileResult{Dialect: st.Dialect(), Lost: min(cfg.Lost, cfg.InstanceResources)}

	start := time.Now()
	if res.InstanceResources, err = reconcilePolls(ctx, st, cfg.InstanceResources, progress); err != nil {
		return nil, err
	}
	res.Setup = time.Since(start)

	current := func() (ReconcilePass, error) {
		return measurePass(st, func() (int, error) {
			r, err := e.Reconcile(ctx)
			return r.PollJobs, err
		})
	}
	progress("restore: giving %d polls their jobs", res.InstanceResources)
	if res.Restore, err = current(); err != nil {
		return nil, err
	}
	progress("healthy pass")
	if res.Healthy, err = current(); err != nil {
		return nil, err
	}
	progress("repair pass: %d jobs lost", res.Lost)
	if err := loseJobs(ctx, st, res.Lost); err != nil {
		return nil, err
	}
	if res.Repair, err = current(); err != nil {
		return nil, err
	}
	if !cfg.Before {
		return res, nil
	}
	progress("healthy pass, as before issue 21")
	healthy, err := measurePass(st, func() (int, error) { return reconcileBefore(ctx, st, e) })
	if err != nil {
		return nil, err
	}
	res.HealthyBefore = &healthy
	return res, nil
}

// measurePass runs one pass and counts what it cost.
func measurePass(st *store.Store, pass func() (int, error)) (ReconcilePass, error) {
	c0, t0 := st.Counts(), time.Now()
	n, err := pass()
	wall, c := time.Since(t0), st.Counts().Sub(c0)
	return ReconcilePass{Statements: c.Statements, Transactions: c.Transactions, Wall: wall, Recreated: n}, err
}

// reconcilePolls stores instances of four polls each, without jobs, 250
// instances per transaction.
func reconcilePolls(ctx context.Context, st *store.Store, n int, progress func(string, ...any)) (int, error) {
	like, err := storedInstance(ctx, st, "reconcile")
	if err != nil {
		return 0, err
	}
	instances := (n + 3) / 4
	progress("creating %d instances (%d instance-resources) on %s", instances, instances*4, st.Dialect())
	resources := []string{"accounts", "contacts", "leads", "opportunities"}
	for first := 0; first < instances; first += 250 {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i := first; i < min(first+250, instances); i++ {
				in := *like
				in.ID, in.Name, in.TokenHash = 0, fmt.Sprint("reconcile ", i), []byte(fmt.Sprint("reconcile ", i))
				if err := tx.CreateInstance(ctx, &in); err != nil {
					return err
				}
				if _, _, err := tx.SyncPolls(ctx, in.ID, resources, 15*time.Minute, time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if first%5000 == 0 && first > 0 {
			progress("%d instances", first)
		}
	}
	return instances * 4, nil
}

// loseJobs deletes n random poll jobs, as an operator's cleanup might.
func loseJobs(ctx context.Context, st *store.Store, n int) error {
	rows, err := st.DB().QueryContext(ctx, `SELECT job_id FROM polls WHERE job_id IS NOT NULL`)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	_, err = st.DB().ExecContext(ctx, `DELETE FROM river_job WHERE id IN (`+strings.Join(ids[:min(n, len(ids))], ",")+`)`)
	return err
}

// reconcileBefore is the reconcile pass as it was before issue 21, kept
// only to measure against: every poll, a transaction each, its unique job
// inserted (a no-op when it exists) and its job id written; then a
// delivery job for every callback with notifications to send.
func reconcileBefore(ctx context.Context, st *store.Store, e *jobs.Engine) (recreated int, err error) {
	client := e.Client()
	if _, err := st.InstancesWithLongConfigValue(ctx, instance.KeyRefreshInterval, len(strconv.Itoa(instance.MaxRefreshInterval))-1); err != nil {
		return 0, err
	}
	polls, err := st.AllPolls(ctx)
	if err != nil {
		return 0, err
	}
	for _, p := range polls {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			res, err := client.InsertTx(ctx, tx.SQL(), jobs.PollArgs{InstanceID: p.InstanceID, Resource: p.Resource}, nil)
			if err != nil {
				return err
			}
			if !res.UniqueSkippedAsDuplicate {
				recreated++
			}
			return tx.SetPollJob(ctx, p.InstanceID, p.Resource, res.Job.ID)
		})
		if err != nil {
			return recreated, err
		}
	}
	callbacks, err := st.CallbacksWithPending(ctx)
	if err != nil {
		return recreated, err
	}
	for _, id := range callbacks {
		if _, err := client.Insert(ctx, jobs.DeliverArgs{CallbackID: id}, nil); err != nil {
			return recreated, err
		}
	}
	return recreated, nil
}

// Format prints the result.
func (r *ReconcileResult) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reconcile on %s: %d instance-resources (set up in %s)\n", r.Dialect, r.InstanceResources, r.Setup.Round(time.Second))
	row := func(name string, p *ReconcilePass) {
		if p != nil {
			fmt.Fprintf(&b, "  %-34s %9d statements %8d transactions %10s wall  %6d jobs recreated\n",
				name, p.Statements, p.Transactions, p.Wall.Round(time.Millisecond), p.Recreated)
		}
	}
	row("restore (no poll has a job)", &r.Restore)
	row("healthy", &r.Healthy)
	row("healthy, before issue 21", r.HealthyBefore)
	row(fmt.Sprintf("%d jobs lost", r.Lost), &r.Repair)
	return b.String()
}
