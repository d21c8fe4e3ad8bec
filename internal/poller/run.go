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
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/ceql"
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
	Created      int // of the events, creations
	Notified     int // notifications queued for the callback
	Unreadable   int // records without a usable id or date, skipped
	// Unusable says what the first unreadable record lacked, e.g.
	// "no usable idField TASK_ID" (empty when every record was readable).
	Unusable string
	Backfill bool // the run served a backfill request
	// RunAgain: a run was asked for while this one ran; it is still asked
	// for, and due now.
	RunAgain bool
}

// ErrRemoved means the poll was removed while it ran: nothing was written.
var ErrRemoved = errors.New("poller: the resource is no longer polled")

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// Run works through the poll's window: a new one from its cursor, or the
// one a crash or timeout left open, from where it stopped. Each page is
// committed as it is read (events, per-record state, notifications, the
// window's position), so memory holds one page and nothing committed is
// read twice; the cursor moves only when the window completes. On failure
// the failure is recorded and the window stays open: the next run resumes
// it, and a change is never lost.
func (r *Runner) Run(ctx context.Context, t Target) (Stats, error) {
	var st Stats
	p, err := r.Store.GetPoll(ctx, t.InstanceID, t.Resource)
	if errors.Is(err, store.ErrNotFound) {
		return st, ErrRemoved
	} else if err != nil {
		return st, err
	}
	runAt := r.now()
	st, err = r.run(ctx, t, p, runAt)
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

// window is a run's working state: the window (nil until its first
// answer plans it) and the page read but not yet committed.
type window struct {
	w    *store.Window
	page []candidate
}

func (r *Runner) run(ctx context.Context, t Target, p *store.Poll, runAt time.Time) (Stats, error) {
	cfg := t.Config.Config
	timing := Timing{Overlap: cfg.Overlap, PollDelay: cfg.PollDelay}
	cur := Cursor{At: p.Cursor, Anchored: p.Anchored, BackfillFrom: p.BackfillFrom, Floor: p.Floor}
	st := Stats{Backfill: !p.BackfillFrom.IsZero()}

	// The query is fixed for a window's life: a window left open by a
	// configuration since changed cannot be resumed, so a new one starts
	// (what the old one committed is known; nothing is reported twice).
	from, windowRunAt := scanStart(cur, timing), runAt
	var resume string
	if open := p.Window; open != nil {
		where, err := t.Config.Where(open.From, open.RunAt)
		if qd, pos, ok := strings.Cut(open.Position, "|"); err == nil && ok && qd == queryDigest(where) {
			from, windowRunAt, resume = open.From, open.RunAt, pos
			st.Backfill = open.Backfill
		} else {
			p.Window = nil
		}
	}
	where, err := t.Config.Where(from, windowRunAt)
	if err != nil {
		return st, fmt.Errorf("render %s url: %w", t.Resource, err)
	}
	digest := queryDigest(where)
	rl := rule{filterByUpdated: cfg.FilterByUpdatedDate, filterByCurrent: cfg.FilterByCurrentDate,
		tolerance: cfg.CreatedCheckTolerance, hasCreated: t.Config.CreatedFormat != nil}
	win := &window{w: p.Window}

	checkpoint := func(pos string, date time.Time, last bool) error {
		if win.w == nil {
			w := plan(cur, timing, windowRunAt, date)
			win.w = &w
			st.Backfill = w.Backfill
		}
		win.w.Position = digest + "|" + pos
		win.w.Pages++
		st.Pages++
		if last {
			return nil // the final commit writes it, with the cursor: one transaction
		}
		return r.commit(ctx, t, rl, win, runAt, false, &st)
	}
	_, err = t.Conn.Scan(ctx, t.Config.Resource, where, element.ScanOptions{PageSize: cfg.PageSize, MaxPages: r.maxPages(),
		Resume: resume, Checkpoint: checkpoint}, func(rec *element.Record) error {
		st.Read++
		if r.crash != nil && r.crash("read") {
			return errCrash
		}
		c, why := r.observe(t, rec)
		if why != "" {
			if st.Unreadable++; st.Unusable == "" {
				st.Unusable = why
			}
			return nil
		}
		win.page = append(win.page, c)
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrRemoved) {
			return st, ErrRemoved
		}
		return st, fmt.Errorf("read %s: %w", t.Resource, err)
	}
	if win.w == nil {
		// Every element checkpoints each page it reads; without one there
		// is no upstream clock to plan the window by.
		return st, fmt.Errorf("read %s: the element gave no page", t.Resource)
	}
	if err := r.commit(ctx, t, rl, win, runAt, true, &st); err != nil {
		return st, err
	}
	st.From, st.Cursor = win.w.Compare, win.w.Start
	return st, nil
}

// commit writes the page read so far: its events, their records' state,
// their notifications and, unless final, the window's position; when
// final, the window is complete and the cursor moves to its start.
func (r *Runner) commit(ctx context.Context, t Target, rl rule, win *window, runAt time.Time, final bool, st *Stats) error {
	w := win.w
	ids := make([]string, len(win.page))
	for i, c := range win.page {
		ids[i] = c.id
	}
	seen, err := r.Store.SeenFor(ctx, t.InstanceID, t.Resource, ids)
	if err != nil {
		return err
	}
	cfg := t.Config.Config
	res := &store.RunResult{InstanceID: t.InstanceID, Resource: t.Resource, Seen: map[string]store.Seen{},
		RunAt: runAt, TrackIDs: cfg.Deletes.Enabled}
	for _, c := range win.page {
		var prev *store.Seen
		if s, ok := seen[c.id]; ok {
			prev = &s
		}
		typ, report := classify(rl, c.obs, prev, w.Compare, w.Start)
		if !report {
			if prev != nil && len(prev.Hash) == sha256.Size && c.obs.updated.Equal(prev.Updated) && sameContent(prev.Hash, c.obs.raw, c.obs.hash) {
				// The same version under a version-1 (raw bytes) hash:
				// keep its state, under the current hash.
				res.Seen[c.id] = store.Seen{Updated: prev.Updated, Hash: c.obs.hash, CreatedSent: prev.CreatedSent}
			}
			continue
		}
		date := c.obs.updated
		if !cfg.FilterByUpdatedDate {
			date = c.obs.created
		}
		res.Events = append(res.Events, &store.Event{ID: newEventID(), OrgID: t.OrgID, InstanceID: t.InstanceID,
			Resource: t.Resource, ObjectID: c.id, Type: typ, Date: date, PollDate: w.Start, Status: "NEW",
			ProviderData: string(c.raw), Backfill: w.Backfill && !date.After(w.Normal)})
		if typ == Created {
			w.Created++
		} else {
			w.Updated++
		}
		res.Seen[c.id] = store.Seen{Updated: date, Hash: c.obs.hash, CreatedSent: typ == Created || (prev != nil && prev.CreatedSent)}
	}
	w.Records += len(win.page)
	if final {
		res.Cursor, res.Backfilled, res.Floor, res.WindowBegan = w.Start, w.Backfill, w.Normal, w.RunAt
		res.Stats = store.RunStats{Duration: r.now().Sub(w.RunAt), Pages: w.Pages, Records: w.Records, Created: w.Created, Updated: w.Updated}
	} else {
		res.Window = w
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CommitRun(ctx, res); err != nil {
			return err
		}
		n, err := r.notify(ctx, tx, t, res.Events)
		if err != nil {
			return err
		}
		st.Notified += n
		if r.crash != nil && r.crash("commit") {
			return errCrash // everything above is rolled back
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrRemoved
	}
	if err != nil {
		return err
	}
	win.page = win.page[:0]
	st.RunAgain = res.StillAsked
	if err := r.Store.StateWritten(ctx, len(res.Seen)); err != nil {
		return err
	}
	st.Events += len(res.Events)
	for _, e := range res.Events {
		if e.Type == Created {
			st.Created++
		}
	}
	return nil
}

// queryDigest names a window's query, so that a window is only resumed
// with the query it began with.
func queryDigest(where ceql.Expr) string {
	text := ""
	if where != nil {
		text = where.String()
	}
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:6])
}

// observe reads a record's id, dates and content hash.
func (r *Runner) observe(t Target, rec *element.Record) (candidate, string) {
	cfg := t.Config.Config
	v, ok := rec.Lookup(cfg.IDField)
	if !ok {
		return candidate{}, "no idField " + cfg.IDField
	}
	id, ok := objectID(v)
	if !ok {
		return candidate{}, "no usable idField " + cfg.IDField
	}
	c := candidate{id: id, raw: rec.Raw}
	var err error
	if cfg.FilterByUpdatedDate || cfg.FilterByCurrentDate {
		if c.obs.updated, err = t.Config.Updated(rec.Lookup); err != nil {
			return candidate{}, fmt.Sprintf("no usable updatedDateField %s (%v)", cfg.Dates.UpdatedField, err)
		}
	}
	if t.Config.CreatedFormat != nil {
		if c.obs.created, err = t.Config.Created(rec.Lookup); err != nil {
			return candidate{}, fmt.Sprintf("no usable createdDateField %s (%v)", cfg.Dates.CreatedField, err)
		}
	}
	c.obs.hash, c.obs.raw = contentHash(rec.Raw), rec.Raw
	return c, ""
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
