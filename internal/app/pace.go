package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// paceMargin is how much longer than a request's timeout a shared slot's
// lease lasts: only a replica that died mid-request leaves its lease to
// expire, and a live request must never outlast its lease.
const paceMargin = 15 * time.Second

// storePace shares each Insightly account's pace and in-flight cap
// between the replicas of one PostgreSQL database (issue 20): every
// request takes its turn in the store's upstream_pace and upstream_slots,
// at the rate and concurrency of --insightly-rate and
// --insightly-concurrency.
type storePace struct {
	store   *store.Store
	log     *slog.Logger
	rate    float64
	burst   int
	slots   int
	hold    time.Duration
	process string       // random, per process: names this replica's leases
	leases  atomic.Int64 // numbers them, so that each holder is unique
}

var _ insightly.SharedPace = (*storePace)(nil)

// newStorePace paces at rate requests per second with inFlight at once
// (zero: the limiter's defaults). The burst is the local limiter's, whole.
func newStorePace(st *store.Store, log *slog.Logger, rate float64, inFlight int) *storePace {
	if rate <= 0 {
		rate = insightly.RateDefault
	}
	if inFlight <= 0 {
		inFlight = insightly.InFlightDefault
	}
	return &storePace{store: st, log: log, rate: rate, burst: max(1, int(rate)), slots: inFlight,
		hold: insightly.TimeoutDefault + paceMargin, process: rand.Text()[:12]}
}

// Take takes the account's turn in the database.
func (p *storePace) Take(ctx context.Context, account string) (func(), time.Duration, bool, error) {
	holder := fmt.Sprintf("%s/%d", p.process, p.leases.Add(1))
	slot, wait, ok, err := p.store.TakePace(ctx, store.PaceRequest{Account: account, Rate: p.rate, Burst: p.burst,
		Slots: p.slots, Holder: holder, Hold: p.hold})
	if err != nil || !ok {
		return nil, wait, false, err
	}
	return func() { p.release(account, slot, holder) }, 0, true, nil
}

// release frees the slot even when the request's context has ended; if
// the database cannot, the lease frees itself after hold.
func (p *storePace) release(account string, slot int, holder string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.store.ReleasePace(ctx, account, slot, holder); err != nil {
		p.log.Warn("could not free a shared Insightly request slot; it frees itself when its lease ends",
			"lease", p.hold, "err", err)
	}
}
