package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// PaceRequest asks for one upstream request's turn at an account whose
// pace replicas share (issue 20): a token of the account's rate and one
// of its in-flight slots.
type PaceRequest struct {
	Account string
	Rate    float64 // requests per second
	Burst   int     // requests that may go at once after a quiet spell
	Slots   int     // requests in flight at once
	// Holder names the lease: ReleasePace frees the slot only for it, so
	// it must be unique per take (a lease that expired and was taken again
	// is not the first holder's to free).
	Holder string
	// Hold is how long a lease lasts unless released: longer than any
	// request, so that only a crashed replica's leases expire.
	Hold time.Duration
	// Now is the time of the take; zero takes the database's clock on
	// PostgreSQL, so that replicas' clocks need not agree, and this
	// host's on SQLite (one host owns the file).
	Now time.Time
}

// paceEpoch is the arrival time of an account never paced: long past.
var paceEpoch = time.Unix(0, 0).UTC()

// TakePace takes a token and a slot of the account, or nothing. It runs
// in one transaction that serializes on the account's pace row
// (PostgreSQL locks it; SQLite's write transactions already exclude each
// other), and paces by GCRA: a request may go when the account's
// theoretical arrival time, pushed by one interval, is at most Burst
// intervals ahead of now. Refused, it changes nothing and says how long
// until a token frees (wait > 0), or wait 0 when it is the slots that are
// all taken, which free when requests end.
func (s *Store) TakePace(ctx context.Context, r PaceRequest) (slot int, wait time.Duration, ok bool, err error) {
	if r.Rate <= 0 || r.Burst < 1 || r.Slots < 1 || r.Hold <= 0 {
		return 0, 0, false, fmt.Errorf("store: pace of %s: rate, burst, slots and hold must be positive", r.Account)
	}
	if s.d.name == Postgres {
		return s.takePaceAtOnce(ctx, r)
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		var err error
		slot, wait, ok, err = tx.takePace(ctx, r)
		return err
	})
	return slot, wait, ok, err
}

// takePaceAtOnce is TakePace on PostgreSQL: the same rules in one
// statement (the take_upstream_pace function, migration 0017), whose
// implicit transaction holds the account's row for no round trip.
func (s *Store) takePaceAtOnce(ctx context.Context, r PaceRequest) (slot int, wait time.Duration, ok bool, err error) {
	// Whole microseconds, rounded up: a shorter interval would let the
	// pace run a little fast.
	intervalUs := int64(math.Ceil(1e6 / r.Rate))
	var now any
	if !r.Now.IsZero() {
		now = r.Now.UTC()
	}
	var waitUs int64
	err = s.row(ctx, `SELECT taken_slot, wait_us, ok FROM take_upstream_pace(?, ?, ?, ?, ?, ?, ?)`,
		r.Account, intervalUs, r.Burst, r.Slots, r.Holder, r.Hold.Microseconds(), now).Scan(&slot, &waitUs, &ok)
	if err != nil {
		return 0, 0, false, s.d.wrap(err)
	}
	return slot, time.Duration(waitUs) * time.Microsecond, ok, nil
}

func (q queries) takePace(ctx context.Context, r PaceRequest) (slot int, wait time.Duration, ok bool, err error) {
	now, tat, err := q.lockPace(ctx, r)
	if err != nil {
		return 0, 0, false, err
	}
	interval := time.Duration(float64(time.Second) / r.Rate)
	next := tat
	if next.Before(now) {
		next = now
	}
	next = next.Add(interval)
	if over := next.Sub(now) - time.Duration(r.Burst)*interval; over > 0 {
		return 0, over, false, nil
	}
	held, err := q.heldSlots(ctx, r.Account, now)
	if err != nil {
		return 0, 0, false, err
	}
	if len(held) >= r.Slots {
		return 0, 0, false, nil
	}
	for slices.Contains(held, slot) {
		slot++
	}
	if _, err := q.exec(ctx, `INSERT INTO upstream_slots (account, slot, holder, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account, slot) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
		r.Account, slot, r.Holder, now.Add(r.Hold).UTC()); err != nil {
		return 0, 0, false, err
	}
	// Rounded up to the column's microseconds: a rounded-down arrival
	// time would let the pace run a little fast.
	next = next.Add(time.Microsecond - 1).Truncate(time.Microsecond).UTC()
	if _, err := q.exec(ctx, `UPDATE upstream_pace SET tat = ? WHERE account = ?`, next, r.Account); err != nil {
		return 0, 0, false, err
	}
	return slot, 0, true, nil
}

// lockPace makes sure the account's pace row exists, locks it until the
// transaction ends and reads it, with the take's time, in one statement:
// the no-op update of a conflicting insert locks the row on PostgreSQL.
func (q queries) lockPace(ctx context.Context, r PaceRequest) (now, tat time.Time, err error) {
	query := `INSERT INTO upstream_pace (account, tat) VALUES (?, ?)
		ON CONFLICT (account) DO UPDATE SET tat = upstream_pace.tat RETURNING tat`
	if q.d.name != Postgres {
		err = q.row(ctx, query, r.Account, paceEpoch).Scan(&tat)
		return cmpTime(r.Now, time.Now()), tat, q.d.wrap(err)
	}
	var db time.Time
	err = q.row(ctx, query+`, clock_timestamp()`, r.Account, paceEpoch).Scan(&tat, &db)
	return cmpTime(r.Now, db), tat, q.d.wrap(err)
}

// cmpTime is t, or else when t is zero.
func cmpTime(t, or time.Time) time.Time {
	if t.IsZero() {
		return or
	}
	return t
}

// heldSlots lists the account's slots whose lease has not expired at now.
func (q queries) heldSlots(ctx context.Context, account string, now time.Time) ([]int, error) {
	rows, err := q.query(ctx, `SELECT slot, expires_at FROM upstream_slots WHERE account = ?`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var held []int
	for rows.Next() {
		var slot int
		var expires time.Time
		if err := rows.Scan(&slot, &expires); err != nil {
			return nil, q.d.wrap(err)
		}
		if expires.After(now) {
			held = append(held, slot)
		}
	}
	return held, q.d.wrap(rows.Err())
}

// ReleasePace frees the slot a TakePace granted, if holder still holds it:
// once its lease expired, another take may hold it now.
func (q queries) ReleasePace(ctx context.Context, account string, slot int, holder string) error {
	_, err := q.exec(ctx, `DELETE FROM upstream_slots WHERE account = ? AND slot = ? AND holder = ?`, account, slot, holder)
	return err
}

// Pace takes one process's turns at upstream accounts whose pace it
// shares with other replicas through the store: its Take is what the
// Insightly limiter's SharedPace asks for (issue 20).
type Pace struct {
	s       *Store
	req     PaceRequest  // Rate, Burst, Slots, Hold
	process string       // random, per process: names this process's leases
	leases  atomic.Int64 // numbers them, so that each holder is unique
	// ReleaseFailed, if set, is told when a slot could not be freed; its
	// lease then frees itself after Hold.
	ReleaseFailed func(error)
}

// NewPace paces each account at rate requests per second (burst at once
// after a quiet spell) with slots in flight, each leased for hold.
func NewPace(s *Store, rate float64, burst, slots int, hold time.Duration) *Pace {
	return &Pace{s: s, req: PaceRequest{Rate: rate, Burst: burst, Slots: slots, Hold: hold}, process: rand.Text()[:12]}
}

// Take takes a token and a slot of the account, or nothing; release frees
// the slot, even after ctx has ended.
func (p *Pace) Take(ctx context.Context, account string) (release func(), wait time.Duration, ok bool, err error) {
	r := p.req
	r.Account, r.Holder = account, fmt.Sprintf("%s/%d", p.process, p.leases.Add(1))
	slot, wait, ok, err := p.s.TakePace(ctx, r)
	if err != nil || !ok {
		return nil, wait, false, err
	}
	return func() { p.release(account, slot, r.Holder) }, 0, true, nil
}

func (p *Pace) release(account string, slot int, holder string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.s.ReleasePace(ctx, account, slot, holder); err != nil && p.ReleaseFailed != nil {
		p.ReleaseFailed(err)
	}
}
