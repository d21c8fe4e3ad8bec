package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/pollhook/pollhook/internal/bench"
	"github.com/pollhook/pollhook/internal/store"
)

// formatter is a benchmark's result.
type formatter interface{ Format() string }

// benchmark is one `pollhook bench <name>`: it registers its own flags
// and returns how to run with them.
type benchmark struct {
	name, summary string
	flags         func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error)
}

func benchmarks() []benchmark {
	return []benchmark{
		{"delivery", "stored notifications to a loopback receiver, beside a plain Go sender; latency at an offered rate",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.DeliveryConfig
				fs.IntVar(&cfg.Notifications, "notifications", 20000, "notifications stored, then drained (throughput)")
				fs.IntVar(&cfg.Callbacks, "callbacks", 8, "callback URLs (each is delivered in order, one at a time)")
				fs.Float64Var(&cfg.Rate, "rate", 50, "offered notifications per second in the latency phase")
				fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of the latency phase")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					return bench.Delivery(ctx, cfg)
				}
			}},
		{"polling", "idle instance-resources at scale: polls/s, start delay, requests per poll, RSS",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.PollingConfig
				fs.IntVar(&cfg.InstanceResources, "instance-resources", 10000, "polled resources (instances × 4)")
				fs.IntVar(&cfg.Interval, "interval", 15, "event.poller.refresh_interval of every instance")
				fs.DurationVar(&cfg.IntervalUnit, "interval-unit", time.Second, "what one interval unit means (a minute in production; 1s compresses time 60×)")
				fs.DurationVar(&cfg.Duration, "duration", 0, "measured window after the warm-up (default two intervals)")
				fs.IntVar(&cfg.Workers, "workers", 0, "job workers (default the server's)")
				fs.DurationVar(&cfg.FetchInterval, "fetch-interval", 0, "how often idle workers look for due jobs (default the server's)")
				fs.BoolVar(&cfg.Herd, "herd", false, "start every first poll at once (a bulk import without --first-poll-spread) instead of spreading them over one interval")
				fs.IntVar(&cfg.Accounts, "accounts", 1, "simulated Insightly accounts; instances are spread over their owners' keys in turn (each account's pace is shared by its instances)")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					exe, err := os.Executable()
					if err != nil {
						return nil, err
					}
					cfg.Executable = exe // the simulator as a process: CPU per poll is pollhook's own
					return bench.Polling(ctx, cfg)
				}
			}},
		{"reconcile", "one reconcile pass over many polls: statements, transactions and wall time, healthy and with jobs lost",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.ReconcileConfig
				fs.IntVar(&cfg.InstanceResources, "instance-resources", 100000, "polls (instances × 4)")
				fs.IntVar(&cfg.Lost, "lost", 1000, "poll jobs deleted behind the engine's back before the repair pass")
				fs.BoolVar(&cfg.Before, "before", true, "also run a healthy pass as it was before issue 21 (a transaction per poll), to compare")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					return bench.Reconcile(ctx, cfg)
				}
			}},
		{"change", "change-to-callback latency with the simulator churning, against the interval",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.ChangeConfig
				fs.IntVar(&cfg.Instances, "instances", 4, "instances, each polling contacts, accounts, leads and opportunities")
				fs.Float64Var(&cfg.Churn, "churn", 5, "simulator changes per second")
				fs.IntVar(&cfg.Interval, "interval", 1, "event.poller.refresh_interval")
				fs.DurationVar(&cfg.IntervalUnit, "interval-unit", 5*time.Second, "what one interval unit means (a minute in production)")
				fs.DurationVar(&cfg.Duration, "duration", 0, "how long the simulator churns (default six intervals)")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					return bench.Change(ctx, cfg)
				}
			}},
		{"state", "per-record state (table seen): bytes per record on disk, CommitRun writes/s, SeenFor per page",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.StateConfig
				fs.IntVar(&cfg.Records, "records", 100000, "records of one (instance, resource) whose state is written")
				fs.IntVar(&cfg.Lookups, "lookups", 200, "SeenFor calls measured, each for a page of random known IDs")
				fs.IntVar(&cfg.PageSize, "page-size", 500, "records per CommitRun and per SeenFor (the poller's page)")
				fs.Uint64Var(&cfg.Seed, "seed", 1, "seed for IDs, dates and hashes")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					return bench.State(ctx, cfg)
				}
			}},
		{"snapshots", "record snapshots: bytes per record stored, a baseline scan's database work beside the same states without snapshots, and the whole baseline scan beside a delete scan",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.SnapshotsConfig
				fs.IntVar(&cfg.Records, "records", 100000, "contacts, as the simulator generates them")
				fs.IntVar(&cfg.PageSize, "page-size", 500, "records per transaction (a baseline scan's page)")
				fs.Uint64Var(&cfg.Seed, "seed", 1, "the simulator's seed")
				fs.BoolVar(&cfg.Full, "full", true, "also measure the poller's whole baseline scan, reading the contacts from the simulator as a process, beside a delete scan without snapshots")
				fs.DurationVar(&cfg.AnalyzeEvery, "analyze-every", 0, "PostgreSQL: ANALYZE the schema's tables this often during the full scans, as autovacuum would (0: never)")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					return bench.Snapshots(ctx, cfg)
				}
			}},
		{"prune", "the retention prune at volume: rows/s, and delivery latency beside it, batched and not, against none",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.PruneConfig
				fs.IntVar(&cfg.Events, "events", 2_000_000, "old events stored (two per delivered notification, one attempt each); each prune deletes half")
				fs.IntVar(&cfg.BatchSize, "batch", store.PruneBatchDefault, "rows per batch of the batched prune")
				fs.DurationVar(&cfg.Pause, "pause", store.PrunePauseDefault, "wait between the batched prune's batches (the server's by default)")
				fs.Float64Var(&cfg.Rate, "rate", 50, "notifications per second offered in every phase")
				fs.DurationVar(&cfg.Baseline, "baseline", 20*time.Second, "length of the phase without a prune")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					return bench.Prune(ctx, cfg)
				}
			}},
		{"backfill", "a backfill of a large account, the simulator in a process of its own: records/s and peak RSS against 200 MiB",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.BackfillConfig
				fs.IntVar(&cfg.Records, "records", 200000, "contacts in the simulator, every one in the backfill's window")
				fs.Uint64Var(&cfg.Seed, "seed", 1, "the simulator's seed")
				target := fs.Int("target-mib", bench.BackfillTargetDefault>>20, "peak RSS the run is judged against, MiB")
				fs.DurationVar(&cfg.Timeout, "timeout", 0, "longest the backfill run may take (default the server's poll timeout)")
				fs.StringVar(&cfg.MemProfile, "memprofile", "", "write a heap profile taken near the peak RSS to this file (go tool pprof)")
				fs.DurationVar(&cfg.AnalyzeEvery, "analyze-every", 0, "PostgreSQL: ANALYZE the schema's tables this often during the run, as autovacuum would (0: never)")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress, cfg.Target = *database, progress, int64(*target)<<20
					return bench.Backfill(ctx, cfg)
				}
			}},
		{"soak", "pollhook, the simulator and a receiver as processes for --duration, with faults and restarts: nothing lost, resources over time",
			func(fs *flag.FlagSet, database *string, progress func(string, ...any)) func(context.Context) (formatter, error) {
				var cfg bench.SoakConfig
				fs.DurationVar(&cfg.Duration, "duration", 10*time.Minute, "how long the simulator churns, with faults on a schedule scaled to it; then the queue drains")
				fs.Float64Var(&cfg.Churn, "churn", 2, "simulator changes per second")
				fs.IntVar(&cfg.Records, "records", 50, "records each simulated object starts with")
				fs.IntVar(&cfg.Instances, "instances", 2, "instances, each polling contacts, accounts, leads and opportunities")
				fs.DurationVar(&cfg.IntervalUnit, "interval-unit", 2*time.Second, "serve's --interval-unit: every instance polls every unit")
				fs.DurationVar(&cfg.SampleEvery, "sample-every", 5*time.Second, "how often serve's RSS, goroutines, files and database size are sampled")
				fs.Uint64Var(&cfg.Seed, "seed", 1, "the simulator's seed")
				svg := fs.String("svg", "", "also draw the samples: <prefix>-serve.svg (RSS, database, goroutines, files) and <prefix>-latency.svg")
				fs.StringVar(&cfg.Dir, "dir", "", "keep the run's files here (logs, the receiver's file, serve's data); default a temporary directory, removed when nothing is wrong")
				return func(ctx context.Context) (formatter, error) {
					cfg.Database, cfg.Progress = *database, progress
					res, err := bench.Soak(ctx, cfg)
					if err == nil && *svg != "" {
						err = res.WriteSVG(*svg)
					}
					if err == nil && !res.OK() {
						err = errSoakFailed{res}
					}
					return res, err
				}
			}},
	}
}

// errSoakFailed makes `bench soak` exit non-zero after printing what it
// found, when a change was lost or a rule broken.
type errSoakFailed struct{ res *bench.SoakResult }

func (e errSoakFailed) Error() string {
	return fmt.Sprintf("soak failed: %d lost, %d violations, %d bad signatures", e.res.Lost, len(e.res.Violations), e.res.BadSignatures)
}

// runBench: `pollhook bench <name>` measures pollhook on this machine,
// each figure beside a baseline or a target (docs/BENCHMARKS.md).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "receiver" {
		return runReceiver(ctx, args[1:], stdout, stderr)
	}
	for _, b := range benchmarks() {
		if len(args) == 0 || args[0] != b.name {
			continue
		}
		fs := flag.NewFlagSet("pollhook bench "+b.name, flag.ContinueOnError)
		fs.SetOutput(stderr)
		database := fs.String("database", "", "sqlite:<path> or postgres://… (default: a temporary SQLite file); it must be empty")
		cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
		run := b.flags(fs, database, func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) })
		if err := fs.Parse(args[1:]); err != nil {
			return errUsage
		}
		stop, err := startProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
		res, err := run(ctx)
		var failed errSoakFailed
		if errors.As(err, &failed) {
			fmt.Fprint(stdout, res.Format())
		}
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, res.Format())
		return nil
	}
	fmt.Fprintln(stderr, "usage: pollhook bench <name> [flags]; 'pollhook bench <name> -h' lists its flags\n\nBenchmarks:")
	for _, b := range benchmarks() {
		fmt.Fprintf(stderr, "  %-10s %s\n", b.name, b.summary)
	}
	return errUsage
}

// runReceiver: `pollhook bench receiver`, the soak's webhook receiver,
// which it runs as a child process (not in the usage: a part of the soak).
func runReceiver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook bench receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.ReceiverConfig
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "address to listen on")
	fs.StringVar(&cfg.Out, "out", "", "file every notification is appended to, one JSON object a line")
	fs.StringVar(&cfg.Key, "key", "", "the instances' event.notification.signature.key, to verify signatures")
	if err := fs.Parse(args); err != nil || cfg.Out == "" {
		return errUsage
	}
	return bench.Receive(ctx, cfg, stdout)
}

// startProfile starts a CPU profile into path ("" for none).
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
