// Package poller runs one poll of one (instance, resource): it renders the
// window into the resource's URL, reads every matching record through the
// element, decides which changed, and commits the events, the dedupe state
// and the new cursor in one transaction. Scheduling runs is package jobs'
// business.
package poller

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/store"
)

// Target is one poll to run.
type Target struct {
	OrgID      int64
	InstanceID int64
	// Resource is the key of the poller configuration, the events' objectType.
	Resource string
	Conn     element.Conn
	Config   *pollconfig.Compiled
	// Notify, when set, turns the run's events into notifications for the
	// instance's callback, in the same transaction.
	Notify *Notify
}

// Notify says where an instance's notifications go.
type Notify struct {
	Meta        delivery.Meta
	CallbackURL string
}

// Runner runs polls.
type Runner struct {
	Store *store.Store
	// Now is our clock; the window's end in ${nowTimeZone} templates.
	Now func() time.Time

	// Enqueue is called in the transaction that adds notifications for a
	// callback, to schedule their delivery (package jobs inserts its job).
	Enqueue func(ctx context.Context, tx *store.Tx, callbackID int64) error

	// MaxPages bounds the upstream pages one run or delete scan reads;
	// default MaxPagesDefault. A run that reaches it fails and says so
	// (its cursor does not move), rather than read for ever.
	MaxPages int

	// crash, set by tests, makes a run die at a stage ("read": while
	// reading records, "commit": inside the commit transaction), as a
	// killed process would.
	crash func(stage string) bool
}

var errCrash = errors.New("poller: crashed (test)")

// MaxPagesDefault is 10,000 pages a run: five million records at
// Insightly's largest page, far past any real change window, but a bound
// on what an upstream that never ends its results can make a run read.
const MaxPagesDefault = 10_000

func (r *Runner) maxPages() int {
	if r.MaxPages > 0 {
		return r.MaxPages
	}
	return MaxPagesDefault
}

// Stats describe one run.
type Stats struct {
	From, Cursor time.Time // the window start and the new cursor (upstream clock)
	Pages        int
	Read         int // records read
	Events       int
	Created      int  // of the events, creations
	Notified     int  // notifications queued for the callback
	Unreadable   int  // records without a usable id or date, skipped
	Backfill     bool // the run served a backfill request
}

// ErrRemoved means the poll was removed while it ran: nothing was written.
var ErrRemoved = errors.New("poller: the resource is no longer polled")

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Run polls once. On failure nothing is written but the failure itself,
// so the next run reads the same window again: a change is never lost.
func (r *Runner) Run(ctx context.Context, t Target) (Stats, error) {
	var st Stats
	p, err := r.Store.GetPoll(ctx, t.InstanceID, t.Resource)
	if errors.Is(err, store.ErrNotFound) {
		return st, ErrRemoved
	} else if err != nil {
		return st, err
	}
	cfg := t.Config.Config
	st.From = p.Cursor.Add(-cfg.PollDelay - cfg.Overlap)
	if p.LastOKAt.IsZero() {
		// The first window starts when polling was enabled: no backfill,
		// not even the overlap's minute. But record times are whole
		// seconds and the skew is measured to the second: a change in the
		// second polling began, or the next, cannot be told from one just
		// before, so those two seconds are read too. Better a change from
		// just before than one lost.
		st.From = p.Cursor.Add(-cfg.PollDelay - firstMargin)
	}
	st.Backfill = !p.BackfillFrom.IsZero()
	runAt := r.now()
	st, err = r.run(ctx, t, p, st, runAt)
	if err != nil && !errors.Is(err, ErrRemoved) {
		if ferr := r.Store.PollFailed(context.WithoutCancel(ctx), t.InstanceID, t.Resource, runAt, err.Error()); ferr != nil {
			return st, errors.Join(err, ferr)
		}
	}
	return st, err
}

type candidate struct {
	id  string
	obs observation
	raw json.RawMessage
}

// firstMargin is how far before the enable time the first window reaches.
const firstMargin = 2 * time.Second

// MaxFirstSkew is how far the upstream's clock may differ from ours
// without the first run missing changes: the first cursor is our clock
// when polling was enabled, since nothing was asked of the upstream then.
const MaxFirstSkew = 15 * time.Minute

func (r *Runner) run(ctx context.Context, t Target, p *store.Poll, st Stats, runAt time.Time) (Stats, error) {
	cfg := t.Config.Config
	// Every later cursor is on the upstream's clock. The first is on
	// ours: read a wider window, and once the upstream's Date tells the
	// skew, judge records against the enable time on its clock.
	first := p.LastOKAt.IsZero()
	scanFrom := st.From
	if first {
		scanFrom = st.From.Add(-MaxFirstSkew)
	}
	// A backfill reads from the requested date; what it finds before the
	// normal window is reported too, marked as backfill, through the same
	// dedupe (a version already reported is not reported again).
	normalFrom := st.From
	if st.Backfill && p.BackfillFrom.Before(scanFrom) {
		scanFrom = p.BackfillFrom
	}
	where, err := t.Config.Where(scanFrom, runAt)
	if err != nil {
		return st, fmt.Errorf("render %s url: %w", t.Resource, err)
	}
	seen, err := r.Store.SeenOf(ctx, t.InstanceID, t.Resource)
	if err != nil {
		return st, err
	}
	var cands []candidate
	scan, err := t.Conn.Scan(ctx, t.Config.Resource, where, element.ScanOptions{PageSize: cfg.PageSize, MaxPages: r.maxPages()}, func(rec *element.Record) error {
		st.Read++
		if r.crash != nil && r.crash("read") {
			return errCrash
		}
		c, ok := r.observe(t, rec)
		if !ok {
			st.Unreadable++
			return nil
		}
		cands = append(cands, c)
		return nil
	})
	st.Pages = scan.Pages
	if err != nil {
		return st, fmt.Errorf("read %s: %w", t.Resource, err)
	}
	pollStart := scan.Date.UTC()
	if first {
		st.From = st.From.Add(pollStart.Sub(runAt.Truncate(time.Second)))
		normalFrom = st.From
	}
	if st.Backfill && p.BackfillFrom.Before(st.From) {
		st.From = p.BackfillFrom
	}
	rl := rule{filterByUpdated: cfg.FilterByUpdatedDate, filterByCurrent: cfg.FilterByCurrentDate,
		tolerance: cfg.CreatedCheckTolerance, hasCreated: t.Config.CreatedFormat != nil}
	res := &store.RunResult{InstanceID: t.InstanceID, Resource: t.Resource, Seen: map[string]store.Seen{}, RunAt: runAt,
		TrackIDs: cfg.Deletes.Enabled, Backfilled: st.Backfill}
	for _, c := range cands {
		var prev *store.Seen
		if s, ok := seen[c.id]; ok {
			prev = &s
		}
		typ, report := classify(rl, c.obs, prev, st.From, pollStart)
		if !report {
			continue
		}
		date := c.obs.updated
		if !cfg.FilterByUpdatedDate {
			date = c.obs.created
		}
		res.Events = append(res.Events, &store.Event{ID: newEventID(), OrgID: t.OrgID, InstanceID: t.InstanceID,
			Resource: t.Resource, ObjectID: c.id, Type: typ, Date: date, PollDate: pollStart, Status: "NEW",
			ProviderData: string(c.raw), Backfill: st.Backfill && !date.After(normalFrom)})
		if typ == Created {
			res.Stats.Created++
		} else {
			res.Stats.Updated++
		}
		s := store.Seen{Updated: date, Hash: c.obs.hash, CreatedSent: typ == Created || (prev != nil && prev.CreatedSent)}
		res.Seen[c.id] = s
		seen[c.id] = s
	}
	// The cursor is the upstream's clock when the run began: whatever
	// changed after that is in the next window, whatever our clock says.
	res.Cursor = pollStart
	st.Cursor = res.Cursor
	res.PruneBefore = res.Cursor.Add(-cfg.PollDelay - cfg.Overlap)
	res.Stats.Duration, res.Stats.Pages, res.Stats.Records = r.now().Sub(runAt), st.Pages, st.Read
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CommitRun(ctx, res); err != nil {
			return err
		}
		n, err := r.notify(ctx, tx, t, res.Events)
		if err != nil {
			return err
		}
		st.Notified = n
		if r.crash != nil && r.crash("commit") {
			return errCrash // everything above is rolled back
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return st, ErrRemoved
	}
	if err != nil {
		return st, err
	}
	st.Events, st.Created = len(res.Events), res.Stats.Created
	return st, nil
}

// observe reads a record's id, dates and content hash.
func (r *Runner) observe(t Target, rec *element.Record) (candidate, bool) {
	cfg := t.Config.Config
	v, ok := rec.Lookup(cfg.IDField)
	if !ok {
		return candidate{}, false
	}
	id, ok := objectID(v)
	if !ok {
		return candidate{}, false
	}
	c := candidate{id: id, raw: rec.Raw}
	var err error
	if cfg.FilterByUpdatedDate || cfg.FilterByCurrentDate {
		if c.obs.updated, err = t.Config.Updated(rec.Lookup); err != nil {
			return candidate{}, false
		}
	}
	if t.Config.CreatedFormat != nil {
		if c.obs.created, err = t.Config.Created(rec.Lookup); err != nil {
			return candidate{}, false
		}
	}
	sum := sha256.Sum256(rec.Raw)
	c.obs.hash = sum[:]
	return c, true
}

// objectID renders an id field as the string events carry.
func objectID(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, v != ""
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool, nil:
		return "", false
	}
	return fmt.Sprint(v), true
}

func newEventID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// notify puts events into notifications for the instance's callback, in
// the transaction that stores them: events and notifications land together.
// It says how many notifications it queued.
func (r *Runner) notify(ctx context.Context, tx *store.Tx, t Target, events []*store.Event) (int, error) {
	if t.Notify == nil || t.Notify.CallbackURL == "" || len(events) == 0 {
		return 0, nil
	}
	cb, err := tx.CallbackFor(ctx, t.OrgID, t.Notify.CallbackURL)
	if err != nil {
		return 0, err
	}
	ns, err := delivery.Build(t.Notify.Meta, t.Resource, events, r.now(), newEventID)
	if err != nil {
		return 0, err
	}
	for _, n := range ns {
		seqs := make([]int64, len(n.Events))
		for i, e := range n.Events {
			seqs[i] = e.Seq
		}
		if err := tx.InsertNotification(ctx, &store.Notification{ID: n.ID, OrgID: t.OrgID, InstanceID: t.InstanceID,
			CallbackID: cb.ID, Resource: t.Resource, Body: n.Body}, seqs); err != nil {
			return 0, err
		}
	}
	if r.Enqueue != nil {
		return len(ns), r.Enqueue(ctx, tx, cb.ID)
	}
	return len(ns), nil
}
