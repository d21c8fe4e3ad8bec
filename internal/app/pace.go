package app

import (
	"log/slog"
	"time"

	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// paceMargin is how much longer than a request's timeout a shared slot's
// lease lasts: only a replica that died mid-request leaves its lease to
// expire, and a live request must never outlast its lease.
const paceMargin = 15 * time.Second

// sharePace makes the replicas of one PostgreSQL database hold each
// Insightly account's pace and in-flight cap between them (issue 20):
// every request also takes its turn in the store, at --insightly-rate
// (zero: the default) with the local limiter's burst, whole, and
// --insightly-concurrency slots.
func sharePace(limits *insightly.Limits, st *store.Store, log *slog.Logger, rate float64, inFlight int) {
	if rate <= 0 {
		rate = insightly.RateDefault
	}
	if inFlight <= 0 {
		inFlight = insightly.InFlightDefault
	}
	p := store.NewPace(st, rate, max(1, int(rate)), inFlight, insightly.TimeoutDefault+paceMargin)
	p.ReleaseFailed = func(err error) {
		log.Warn("could not free a shared Insightly request slot; it frees itself when its lease ends",
			"lease", insightly.TimeoutDefault+paceMargin, "err", err)
	}
	limits.Share(p)
}
