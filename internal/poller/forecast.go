package poller

import (
	"context"
	"time"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/store"
)

// The quota forecast: how many upstream calls per day an account's
// configuration implies, across every instance and organization using it.
// With the account's quota it sets the pace its polls keep (pace.go).
//
// The model, per poll (PollLoad):
//   - Polling: 86400 / interval runs a day, each reading PagesPerRun
//     pages (one call a page): the pages of the last successful run, at
//     least 1 (a run that finds nothing still asks once).
//   - Delete detection, when on: 86400 / scan interval scans a day, each
//     listing every ID, 500 a page: known records / 500 + 1 pages (1 when
//     nothing is known yet).
//   - Work still to do once (a snapshot baseline, a backfill): its
//     remaining pages, counted once, as if all spent today.
//
// Calls/day = Σ 86400/interval × pagesPerRun + Σ 86400/scanInterval ×
// pagesPerScan + Σ remaining. It ignores retries, the record reads that
// confirm deletions, and hub calls made for clients, so it is a floor of
// what the account spends, not a ceiling.

// scanPageSize is the page size of delete scans and baselines (IDs or
// records per call).
const scanPageSize = 500

// PollLoad is one poll's share of its account's calls.
type PollLoad struct {
	Interval    time.Duration // between runs; zero or less: not polled
	PagesPerRun int           // the last successful run's pages; less than 1 counts as 1
	// ScanInterval, when positive, is the delete detection's interval.
	ScanInterval time.Duration
	PagesPerScan int // less than 1 counts as 1
	// Remaining is the pages of one-off work still to run (a snapshot
	// baseline, a backfill), counted once.
	Remaining int
}

// PagesPerScan estimates a delete scan's pages from the records it knows
// (known < 0: unknown): known/500 + 1, or 1 when unknown.
func PagesPerScan(known int) int {
	if known < 0 {
		return 1
	}
	return known/scanPageSize + 1
}

// Forecast is the calls per day the polls imply for one account (see the
// model above). It is pure.
func Forecast(polls []PollLoad) float64 {
	periodic, once := forecastParts(polls)
	return periodic + once
}

// forecastParts is Forecast in two parts: the periodic calls a day, which
// a stretch slows down, and the one-off work, which it does not.
func forecastParts(polls []PollLoad) (periodic, once float64) {
	const day = float64(24 * time.Hour)
	for _, p := range polls {
		if p.Interval > 0 {
			periodic += day / float64(p.Interval) * float64(max(p.PagesPerRun, 1))
		}
		if p.ScanInterval > 0 {
			periodic += day / float64(p.ScanInterval) * float64(max(p.PagesPerScan, 1))
		}
		once += float64(max(p.Remaining, 0))
	}
	return periodic, once
}

// loadOf is a stored poll's PollLoad: cfg is its compiled configuration
// (nil when it does not compile: polling only), known the record IDs its
// delete detection knows.
func loadOf(p *store.Poll, cfg *pollconfig.Compiled, known int) PollLoad {
	l := PollLoad{Interval: p.Interval, PagesPerRun: max(p.LastRun.Pages, 1)}
	estimate := PagesPerScan(known)
	if known == 0 && p.LastScanAt.IsZero() {
		estimate = PagesPerScan(-1)
	}
	if cfg != nil && cfg.Config.Deletes.Enabled {
		l.ScanInterval, l.PagesPerScan = cfg.Config.Deletes.Interval, estimate
	}
	switch {
	case cfg != nil && cfg.Config.Snapshots && p.BaselineAt.IsZero():
		// The baseline reads every record, 500 a page.
		l.Remaining = estimate
	case p.Window != nil && p.Window.Backfill:
		// A backfill under way: at least as many pages again as a run.
		l.Remaining = l.PagesPerRun
	case !p.BackfillFrom.IsZero():
		l.Remaining = estimate
	}
	return l
}

// QuotaForecast is an account's forecast, and the pace it sets.
type QuotaForecast struct {
	Account string
	PerDay  float64
	Polls   int
	Limit   int // the account's known daily limit (0: unknown)
	Reserve float64
	Exceeds bool // the configuration alone would spend more than Limit
	Pace    Pace // its Stretch is the factor applied now
}

// accountLoad is what an account's configuration costs: the forecast's
// two parts, and how many polls make it.
type accountLoad struct {
	periodic, once float64
	polls          int
	at             time.Time // when it was read (our clock)
}

// loadTTL is how long Check trusts an account's load before reading it
// again: a configuration changed on another replica is followed within
// it (one saved here is followed at once: Forget).
const loadTTL = time.Minute

// load reads an account's load from the database: every poll of every
// instance (any organization) using it.
func (s *Service) load(ctx context.Context, account string) (accountLoad, error) {
	aps, err := s.Store.AccountPolls(ctx, account, instance.KeyPollerConfig)
	if err != nil {
		return accountLoad{}, err
	}
	loads := make([]PollLoad, 0, len(aps))
	for _, ap := range aps {
		// A configuration that does not compile polls only (nil).
		cfg, _ := s.configs.get(ap.PollerConfig, ap.Poll.Resource)
		loads = append(loads, loadOf(ap.Poll, cfg, ap.KnownRecords))
	}
	l := accountLoad{polls: len(aps), at: s.now()}
	l.periodic, l.once = forecastParts(loads)
	s.loads.Store(account, l)
	s.sweepLoads(l.at)
	return l, nil
}

// sweepLoads forgets, once every loadTTL, the loads no one has read again
// within it: the accounts whose instances are gone, or are polled on
// other replicas now, do not stay in this process's memory for good.
func (s *Service) sweepLoads(now time.Time) {
	last := s.loadsSwept.Load()
	if now.UnixNano()-last < int64(loadTTL) || !s.loadsSwept.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.loads.Range(func(k, v any) bool {
		if now.Sub(v.(accountLoad).at) >= loadTTL {
			s.loads.CompareAndDelete(k, v)
		}
		return true
	})
}

// cachedLoad is load, read again at most every loadTTL: Check runs for
// every poll, and an account's load changes only with its configuration.
func (s *Service) cachedLoad(ctx context.Context, account string) (accountLoad, error) {
	if v, ok := s.loads.Load(account); ok {
		if l := v.(accountLoad); s.now().Sub(l.at) < loadTTL && !l.at.After(s.now()) {
			return l, nil
		}
	}
	return s.load(ctx, account)
}

// Forget drops what the service remembers of an account's load, when an
// instance using it changed.
func (s *Service) Forget(account string) { s.loads.Delete(account) }

// ForecastAccount forecasts an account's calls per day from the
// database, and the pace they set.
func (s *Service) ForecastAccount(ctx context.Context, account string) (QuotaForecast, error) {
	q, err := s.Store.AccountQuota(ctx, account)
	if err != nil {
		return QuotaForecast{Account: account}, err
	}
	return s.forecast(ctx, account, q)
}

// forecast is ForecastAccount with the account's quota already read. It
// reads the load as Check does (cachedLoad), so that the status shows the
// pace the polls keep, and a page listing many instances of one account
// reads it once.
func (s *Service) forecast(ctx context.Context, account string, q store.Quota) (QuotaForecast, error) {
	out := QuotaForecast{Account: account, Reserve: s.QuotaReserve, Pace: Pace{Stretch: 1}}
	l, err := s.cachedLoad(ctx, account)
	if err != nil {
		return out, err
	}
	out.PerDay, out.Polls, out.Limit = l.periodic+l.once, l.polls, q.Limit
	out.Exceeds = q.Limit > 0 && out.PerDay > float64(q.Limit)
	out.Pace = PaceOf(l.periodic, l.once, q, s.QuotaReserve, s.now())
	return out, nil
}

// pace is the pace of an account (none: no account known yet) as Check
// follows it, with its quota.
func (s *Service) pace(ctx context.Context, account string) (Pace, error) {
	if account == "" {
		return Pace{Stretch: 1}, nil
	}
	q, err := s.Store.AccountQuota(ctx, account)
	if err != nil {
		return Pace{}, err
	}
	if q.Limit <= 0 && !q.ResetAt.After(s.now()) {
		// Nothing stated yet: the load cannot matter (and is not read).
		return PaceOf(0, 0, q, s.QuotaReserve, s.now()), nil
	}
	l, err := s.cachedLoad(ctx, account)
	if err != nil {
		return Pace{}, err
	}
	return PaceOf(l.periodic, l.once, q, s.QuotaReserve, s.now()), nil
}

// AccountForecasts forecasts every polled account (for /metrics), keyed
// by account.
func (s *Service) AccountForecasts(ctx context.Context) (map[string]QuotaForecast, error) {
	accounts, err := s.Store.PolledAccounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]QuotaForecast, len(accounts))
	for _, a := range accounts {
		f, err := s.ForecastAccount(ctx, a)
		if err != nil {
			return nil, err
		}
		out[a] = f
	}
	return out, nil
}
