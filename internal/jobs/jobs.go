// Package jobs runs pollhook's background work on River, on the store's
// own database: one self-snoozing job per (instance, resource) polls it
// (package poller), one per callback drains its outbox (package
// delivery), and periodic jobs repair schedules and prune history. The
// workers are thin: they decide nothing but when to run. It implements
// the instance service's Scheduler, so schedules change in the same
// transaction as instances.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/fair"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/store"
)

// Defaults of Config.
const (
	// PollTimeoutDefault bounds one poll run: a first run over a large
	// account reads many pages at 5 requests per second.
	PollTimeoutDefault = 30 * time.Minute
	// RescueAfterDefault is how long a job held by a dead process waits
	// before another takes it: twice the longest job timeout.
	RescueAfterDefault = 2 * PollTimeoutDefault
	// ReconcileIntervalDefault is how often schedules are repaired.
	ReconcileIntervalDefault = 5 * time.Minute
	// FetchIntervalDefault is how often idle workers look for due jobs.
	// River's scheduler makes a snoozed job available up to 5 s before it
	// is due, keeping its due time; a worker fetches it once that time has
	// come, so a poll starts at most this late (plus the fetch): 1 s made
	// the start delay's p99 1.15 s, 200 ms made it 0.22 s (docs/BENCHMARKS.md).
	// An idle fetch costs one indexed statement; LISTEN/NOTIFY would not
	// help, since nothing is inserted when a snoozed job comes due.
	FetchIntervalDefault = 250 * time.Millisecond
	// WorkersDefault is how many jobs (polls, deliveries) run at once per
	// process. They mostly wait on the network, and River fetches at most
	// this many per fetch, every 100 ms when busy: 10 capped a process at
	// about 100 polls/s (bench polling), 100 lifts the cap past what one
	// database sustains.
	WorkersDefault = 100
)

// OrgMaxJobsDefault is the default cap on the jobs of one kind (polls,
// deliveries) one organization runs at once in a process (fair.OrgMaxDefault).
func OrgMaxJobsDefault(workers int) int { return fair.OrgMaxDefault(workers) }

// Config wires the engine.
type Config struct {
	Store     *store.Store
	Instances *instance.Service
	Logger    *slog.Logger
	// Now is our clock; tests move it.
	Now               func() time.Time
	PollTimeout       time.Duration
	RescueAfter       time.Duration
	ReconcileInterval time.Duration
	FetchInterval     time.Duration
	Workers           int
	// OrgMaxJobs caps the jobs one organization runs at once in this
	// process, polls and deliveries counted apart; one more snoozes for a
	// moment and gives its worker back (package fair). Zero or less:
	// OrgMaxJobsDefault(Workers).
	OrgMaxJobs int
	// Insert only: no workers (a process that only schedules).
	InsertOnly bool
	// IntervalUnit is what one unit of event.poller.refresh_interval
	// means: a minute, as in Cloud Elements; demos and tests shorten it.
	IntervalUnit time.Duration
	// FirstPollSpread spreads the first run of new polls at random over
	// this long (at most their interval) instead of running it at once, so
	// a bulk import does not start thousands of polls in the same second
	// and keep them bunched ever after. Zero: at once.
	FirstPollSpread time.Duration

	// Delivery.
	AllowPrivateCallbacks bool            // send to loopback and private addresses (tests, demos)
	DeliveryTimeout       time.Duration   // per attempt; default 15 s
	DeliveryConcurrency   int             // per callback; default 1 (in order)
	Schedule              []time.Duration // retry offsets from the first failure; default Cloud Elements'
	Jitter                func() float64  // default random; tests fix it
	// Retention is how long events, notifications and attempts are kept.
	Retention time.Duration
	// Metrics, when set, counts polls and delivery attempts.
	Metrics *metrics.Metrics
	// QuotaReserve is the share (0 to 0.9) of each upstream account's
	// daily quota left to other apps (poller.Service.QuotaReserve).
	QuotaReserve float64
}

// RetentionDefault keeps history for 30 days.
const RetentionDefault = 30 * 24 * time.Hour

// Engine is the running job engine.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	client   *river.Client[*sql.Tx]
	polls    *poller.Service
	pipeline *delivery.Pipeline
	outbox   *delivery.Outbox
	orgs     *fair.Orgs

	wakePage           int // WakeAll's page; 0 means wakePageDefault (tests lower it)
	reconcileBatchSize int // jobs per reconcile transaction; 0 means reconcileBatchDefault (tests lower it)
}

const wakePageDefault = 1000

func driver(st *store.Store) riverdriver.Driver[*sql.Tx] {
	if st.Dialect() == store.Postgres {
		return riverdatabasesql.New(st.DB())
	}
	return riversqlite.New(st.DB())
}

// Migrate brings River's tables up to date, one process at a time.
func Migrate(ctx context.Context, st *store.Store) error {
	return st.WithLock(ctx, func() error {
		m, err := rivermigrate.New(driver(st), nil)
		if err != nil {
			return err
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	})
}

// New builds the engine; Start runs it.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cfg.PollTimeout = cmp.Or(cfg.PollTimeout, PollTimeoutDefault)
	cfg.RescueAfter = cmp.Or(cfg.RescueAfter, max(RescueAfterDefault, 2*cfg.PollTimeout))
	cfg.ReconcileInterval = cmp.Or(cfg.ReconcileInterval, ReconcileIntervalDefault)
	cfg.FetchInterval = cmp.Or(cfg.FetchInterval, FetchIntervalDefault)
	cfg.Workers = cmp.Or(cfg.Workers, WorkersDefault)
	if cfg.OrgMaxJobs <= 0 {
		cfg.OrgMaxJobs = OrgMaxJobsDefault(cfg.Workers)
	}
	cfg.IntervalUnit = cmp.Or(cfg.IntervalUnit, time.Minute)
	cfg.Retention = cmp.Or(cfg.Retention, RetentionDefault)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, orgs: fair.NewOrgs(cfg.OrgMaxJobs)}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.outbox = &delivery.Outbox{Store: cfg.Store, Enqueue: e.Enqueue}
	e.pipeline = delivery.NewPipeline(delivery.Config{Store: cfg.Store, Instances: cfg.Instances, Log: e.log, Now: cfg.Now,
		Sender: delivery.NewSender(cfg.AllowPrivateCallbacks, cfg.DeliveryTimeout), Concurrency: cfg.DeliveryConcurrency,
		Schedule: cfg.Schedule, Jitter: cfg.Jitter, Orgs: e.orgs, Metrics: cfg.Metrics})
	e.polls = &poller.Service{Store: cfg.Store, Instances: cfg.Instances, Metrics: cfg.Metrics, Log: e.log, Now: cfg.Now,
		Runner: &poller.Runner{Store: cfg.Store, Now: cfg.Now, Outbox: e.outbox}, QuotaReserve: cfg.QuotaReserve}
	cfg.Metrics.SetForecasts(func(ctx context.Context) (map[string]metrics.AccountForecast, error) {
		all, err := e.polls.AccountForecasts(ctx)
		out := make(map[string]metrics.AccountForecast, len(all))
		for a, f := range all {
			out[a] = metrics.AccountForecast{PerDay: f.PerDay, Stretch: f.Pace.Stretch}
		}
		return out, err
	})
	if err := Migrate(ctx, cfg.Store); err != nil {
		return nil, err
	}
	if err := recoverOrphans(ctx, cfg.Store); err != nil {
		return nil, err
	}
	rc := &river.Config{
		ID:                   ReplicaID(),
		Logger:               e.log,
		JobTimeout:           cfg.PollTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.FetchInterval,
		FetchCooldown:        min(cfg.FetchInterval, 100*time.Millisecond),
	}
	if !cfg.InsertOnly {
		workers := river.NewWorkers()
		river.AddWorker(workers, &pollWorker{e: e})
		river.AddWorker(workers, &reconcileWorker{e: e})
		river.AddWorker(workers, &deliverWorker{e: e})
		river.AddWorker(workers, &wakeWorker{e: e})
		river.AddWorker(workers, &pruneWorker{e: e})
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileInterval),
				func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		}
	}
	client, err := river.NewClient(driver(cfg.Store), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	e.client = client
	return e, nil
}

// ReplicaID names an engine in the job tables (river_job.attempted_by,
// leadership): host and process id, so an operator can tell replicas
// apart, and a count when a process runs several engines (tests).
func ReplicaID() string {
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s-%d", cmp.Or(host, "pollhook"), os.Getpid())
	if n := engines.Add(1); n > 1 {
		id += fmt.Sprintf("-%d", n)
	}
	return id
}

var engines atomic.Int64

// recoverOrphans frees the jobs a killed process left running. An SQLite
// file serves one process, so at start nothing can be running: the jobs
// are made available at once instead of waiting for River's rescuer
// (whose delay must cover a slow job, and is long). Runs are
// transactional, so running one again repeats it, never loses it. On
// PostgreSQL other replicas may be running them; the rescuer handles those.
func recoverOrphans(ctx context.Context, st *store.Store) error {
	if st.Dialect() != store.SQLite {
		return nil
	}
	_, err := st.DB().ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = ? WHERE state = 'running'`,
		time.Now().UTC())
	if err != nil {
		return fmt.Errorf("jobs: recover orphaned jobs: %w", err)
	}
	return nil
}

// Start begins working jobs; it returns at once.
func (e *Engine) Start(ctx context.Context) error { return e.client.Start(ctx) }

// Stop finishes the jobs in flight (until ctx ends) and stops.
func (e *Engine) Stop(ctx context.Context) error { return e.client.Stop(ctx) }

// StopAndCancel stops, cancelling the jobs that are running.
func (e *Engine) StopAndCancel(ctx context.Context) error { return e.client.StopAndCancel(ctx) }

// Client is River's client, for tests and the console's job view.
func (e *Engine) Client() *river.Client[*sql.Tx] { return e.client }

// Polls is the polling service the poll jobs run.
func (e *Engine) Polls() *poller.Service { return e.polls }

// Outbox is the notification queue whose deliveries the engine schedules:
// replay and reactivation (the API's Deliveries).
func (e *Engine) Outbox() *delivery.Outbox { return e.outbox }

// Pipeline is the delivery pipeline the delivery jobs run.
func (e *Engine) Pipeline() *delivery.Pipeline { return e.pipeline }

// WakeAll makes every snoozed poll job available now: each runs if due
// (by the engine's clock) and snoozes again otherwise. Tests use it with
// a manual clock; an operator's "poll now" can too. It pages through all
// of them, wakePage at a time.
func (e *Engine) WakeAll(ctx context.Context) error {
	page := cmp.Or(e.wakePage, wakePageDefault)
	params := river.NewJobListParams().Kinds(PollArgs{}.Kind()).States(rivertype.JobStateScheduled).First(page)
	for {
		res, err := e.client.JobList(ctx, params)
		if err != nil {
			return err
		}
		for _, j := range res.Jobs {
			if _, err := e.client.JobRetry(ctx, j.ID); err != nil {
				return err
			}
		}
		if len(res.Jobs) < page || res.LastCursor == nil {
			return nil
		}
		params = params.After(res.LastCursor)
	}
}
