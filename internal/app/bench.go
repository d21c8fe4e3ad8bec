package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/pollhook/pollhook/internal/bench"
)

// runBench: `pollhook bench delivery` measures pollhook on this machine,
// each figure beside a baseline from the same run (docs/BENCHMARKS.md).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "polling" {
		return runBenchPolling(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "change" {
		return runBenchChange(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "delivery" {
		fmt.Fprintln(stderr, "usage: pollhook bench delivery [--database DSN] [--notifications N] [--callbacks N] [--rate R] [--duration D]")
		fmt.Fprintln(stderr, "       pollhook bench polling [--database DSN] [--instance-resources N] [--interval N] [--interval-unit D] [--duration D]")
		fmt.Fprintln(stderr, "       pollhook bench change [--database DSN] [--instances N] [--churn R] [--interval N] [--interval-unit D] [--duration D]")
		return errUsage
	}
	fs := flag.NewFlagSet("pollhook bench delivery", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.DeliveryConfig
	fs.StringVar(&cfg.Database, "database", "", "sqlite:<path> or postgres://… (default: a temporary SQLite file); it must be empty")
	fs.IntVar(&cfg.Notifications, "notifications", 5000, "notifications stored, then drained (throughput)")
	fs.IntVar(&cfg.Callbacks, "callbacks", 8, "callback URLs (each is delivered in order, one at a time)")
	fs.Float64Var(&cfg.Rate, "rate", 50, "offered notifications per second in the latency phase")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of the latency phase")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	stop, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	cfg.Progress = func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	res, err := bench.Delivery(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.Format())
	return nil
}

func runBenchPolling(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook bench polling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.PollingConfig
	fs.StringVar(&cfg.Database, "database", "", "sqlite:<path> or postgres://… (default: a temporary SQLite file); it must be empty")
	fs.IntVar(&cfg.InstanceResources, "instance-resources", 10000, "polled resources (instances × 4)")
	fs.IntVar(&cfg.Interval, "interval", 15, "event.poller.refresh_interval of every instance")
	fs.DurationVar(&cfg.IntervalUnit, "interval-unit", time.Second, "what one interval unit means (a minute in production; 1s compresses time 60×)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "measured window after the warm-up (default two intervals)")
	fs.IntVar(&cfg.Workers, "workers", 0, "job workers (default the server's)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	stop, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	cfg.Progress = func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	res, err := bench.Polling(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.Format())
	return nil
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

func runBenchChange(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook bench change", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.ChangeConfig
	fs.StringVar(&cfg.Database, "database", "", "sqlite:<path> or postgres://… (default: a temporary SQLite file); it must be empty")
	fs.IntVar(&cfg.Instances, "instances", 4, "instances, each polling contacts, accounts, leads and opportunities")
	fs.Float64Var(&cfg.Churn, "churn", 5, "simulator changes per second")
	fs.IntVar(&cfg.Interval, "interval", 1, "event.poller.refresh_interval")
	fs.DurationVar(&cfg.IntervalUnit, "interval-unit", 5*time.Second, "what one interval unit means (a minute in production)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long the simulator churns (default six intervals)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg.Progress = func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	res, err := bench.Change(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.Format())
	return nil
}
