package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"

	"github.com/pollhook/pollhook/internal/sim/insightly"
)

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "insightly" {
		fmt.Fprintln(stderr, "usage: pollhook sim insightly [flags]   (insightly is the only simulator)")
		return errUsage
	}
	return runSimInsightly(ctx, args[1:], stdout, stderr)
}

func runSimInsightly(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook sim insightly", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr    = fs.String("addr", "127.0.0.1:8089", "address to listen on (port 0 picks a free one)")
		churn   = fs.Float64("churn", 0, "random creates, updates and deletes per second")
		cfg     insightly.Config
		token   = fs.String("control-token", "", "bearer token for /_sim/ (default: generated)")
		records = fs.Int("records", 200, "records each core object starts with")
	)
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed for generated data, keys and churn")
	fs.IntVar(&cfg.Accounts, "accounts", 1, "number of Insightly accounts")
	fs.IntVar(&cfg.Users, "users", insightly.UsersDefault, "users (each with an API key) per account")
	fs.StringVar(&cfg.Plan, "plan", insightly.PlanDefault, "plan of every account: "+strings.Join(insightly.PlanNames(), ", "))
	fs.Float64Var(&cfg.RateLimit, "rate-limit", insightly.RateLimitDefault, "requests per second per account (negative: unlimited)")
	fs.IntVar(&cfg.Burst, "burst", 0, "token bucket size (default: the rate)")
	fs.IntVar(&cfg.MaxConcurrent, "max-concurrent", 0, "429 past this many requests in flight per account (0: no limit)")
	fs.IntVar(&cfg.DailyQuota, "daily-quota", 0, "requests per UTC day per account (0: the plan's, negative: unlimited)")
	fs.DurationVar(&cfg.ClockOffset, "clock-offset", 0, "run the upstream clock this far ahead of ours (negative: behind)")
	fs.BoolVar(&cfg.ListHonorsUpdatedAfter, "list-honors-updated-after", false, "filter plain GET /{Object} on updated_after_utc too")
	fs.IntVar(&cfg.JournalLimit, "journal-limit", insightly.JournalLimitDefault, "changes the journal (/_sim/journal) keeps; the oldest go first")
	fs.BoolVar(&cfg.StrictTop, "strict-top", false, "answer 400 to top > 500 instead of capping it")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pollhook sim insightly: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if *records < 0 {
		fmt.Fprintln(stderr, "pollhook sim insightly: -records must not be negative")
		return errUsage
	}
	if !slices.Contains(insightly.PlanNames(), cfg.Plan) {
		fmt.Fprintf(stderr, "pollhook sim insightly: unknown -plan %q (known: %s)\n", cfg.Plan, strings.Join(insightly.PlanNames(), ", "))
		return errUsage
	}
	cfg.Records = *records
	cfg.ControlToken = *token
	if cfg.ControlToken == "" {
		cfg.ControlToken = randomToken()
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	sim := insightly.New(cfg)
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Insightly v3.1 simulator: seed %d, %d records per core object, churn %g/s\n", cfg.Seed, cfg.Records, *churn)
	fmt.Fprintf(stdout, "  base URL  %s/v3.1\n", base)
	for _, a := range sim.Accounts() {
		fmt.Fprintf(stdout, "  API key   %s   (%s, plan %s, owner)\n", a.Keys[0], a.Name, a.Plan)
		for _, k := range a.Keys[1:] {
			fmt.Fprintf(stdout, "  API key   %s   (%s, user)\n", k, a.Name)
		}
	}
	fmt.Fprintf(stdout, "  control   %s/_sim/  (Authorization: Bearer %s)\n", base, cfg.ControlToken)
	fmt.Fprintf(stdout, "  try       curl -u %s: '%s/v3.1/Contacts/Search?top=2&updated_after_utc=2020-01-01T00:00:00Z'\n", sim.APIKey(), base)
	fmt.Fprintf(stdout, "  pollhook  pollhook serve --allow-upstream %s   (then \"base.url\": \"%s/v3.1\")\n", strings.TrimPrefix(base, "http://"), base)

	go sim.Churn(ctx, *churn)
	return serveHTTP(ctx, ln, sim.Handler(), slog.New(slog.DiscardHandler))
}

func randomToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
