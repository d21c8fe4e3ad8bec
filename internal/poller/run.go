// Package poller polls one (instance, resource): Service decides whether
// a poll is due (DueAt), runs it, and what its outcome means (Judge);
// Runner works through its window: it renders the window into the
// resource's query, reads every matching record through the element,
// decides which changed, and commits the events, the per-record state,
// the notifications and the new cursor page by page. Scheduling the runs
// is package jobs' business.
package poller

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/changes"
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
	Notify *delivery.Route
}

// Runner runs polls.
type Runner struct {
	Store *store.Store
	// Now is our clock; the window's end in ${nowTimeZone} templates.
	Now func() time.Time

	// Outbox takes the notifications of a run's events, in the run's
	// transaction, and schedules their delivery; nil: they are stored
	// and not scheduled.
	Outbox *delivery.Outbox

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

// A run reads in four steps, each below in the order it happens:
//   - open: the window this run works through, resumed where a crash or
//     timeout left it, or new from the cursor (plan.go);
//   - read: the element reads the window's records page by page; each
//     record is observed (its id, dates and content hash) and each page
//     checkpointed;
//   - judge: each page's records are classified against their last
//     reported state (classify.go), into events and new state;
//   - commit: each page is written in a transaction of its own, with its
//     notifications; the last one completes the window and moves the
//     cursor.

// window is a run's working state.
type window struct {
	t      Target
	cursor Cursor
	timing Timing
	rule   rule
	// The query is fixed for the window's life: runAt is our clock when
	// the window began (templates' ${now…}), where its rendered filter,
	// and digest names it in the stored position.
	from, runAt time.Time
	where       ceql.Expr
	digest      string
	resume      string        // where the element resumes reading; "" from the start
	w           *store.Window // nil until the first page plans it
	page        []candidate   // read since the last commit
	stats       Stats
	obs         *observer // snapshots, field rules, filter
}

func (r *Runner) run(ctx context.Context, t Target, p *store.Poll, runAt time.Time) (Stats, error) {
	win, err := open(t, p, runAt)
	if err != nil {
		return win.stats, err
	}
	err = r.read(ctx, win, runAt)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrRemoved) {
		return win.stats, ErrRemoved
	} else if err != nil {
		return win.stats, fmt.Errorf("read %s: %w", t.Resource, err)
	}
	if win.w == nil {
		// Every element checkpoints each page it reads; without one there
		// is no upstream clock to plan the window by.
		return win.stats, fmt.Errorf("read %s: the element gave no page", t.Resource)
	}
	if err := r.commit(ctx, win, runAt, true); err != nil {
		return win.stats, err
	}
	win.stats.From, win.stats.Cursor = win.w.Compare, win.w.Start
	return win.stats, nil
}

// open is the window a run works through: the one a crash or timeout
// left open, if its query still stands, or else a new one from the
// cursor. A window left open by a configuration since changed cannot be
// resumed, so a new one starts (what the old one committed is known;
// nothing is reported twice).
func open(t Target, p *store.Poll, runAt time.Time) (*window, error) {
	cfg := t.Config.Config
	win := &window{t: t, timing: timingOf(cfg), cursor: cursorOf(p),
		rule: rule{filterByUpdated: cfg.FilterByUpdatedDate, filterByCurrent: cfg.FilterByCurrentDate,
			tolerance: cfg.CreatedCheckTolerance, hasCreated: t.Config.CreatedFormat != nil},
		stats: Stats{Backfill: !p.BackfillFrom.IsZero()}, obs: newObserver(t)}
	win.from, win.runAt = scanStart(win.cursor, win.timing), runAt
	if o := p.Window; o != nil {
		where, err := t.Config.Where(o.From, o.RunAt)
		if qd, pos, ok := strings.Cut(o.Position, "|"); err == nil && ok && qd == queryDigest(where) {
			win.from, win.runAt, win.resume, win.w = o.From, o.RunAt, pos, o
			win.stats.Backfill = o.Backfill
		}
	}
	var err error
	if win.where, err = t.Config.Where(win.from, win.runAt); err != nil {
		return win, fmt.Errorf("render %s url: %w", t.Resource, err)
	}
	win.digest = queryDigest(win.where)
	return win, nil
}

// read has the element read the window's records, from where it stands,
// committing each page but the last as it is checkpointed.
func (r *Runner) read(ctx context.Context, win *window, runAt time.Time) error {
	t := win.t
	checkpoint := func(pos string, date time.Time, last bool) error {
		if win.w == nil {
			w := plan(win.cursor, win.timing, win.runAt, date)
			win.w = &w
			win.stats.Backfill = w.Backfill
		}
		win.w.Position = win.digest + "|" + pos
		win.w.Pages++
		win.stats.Pages++
		if last {
			return nil // the final commit writes it, with the cursor: one transaction
		}
		return r.commit(ctx, win, runAt, false)
	}
	_, err := t.Conn.Scan(ctx, t.Config.Resource, win.where, element.ScanOptions{PageSize: t.Config.Config.PageSize,
		MaxPages: r.maxPages(), Resume: win.resume, Checkpoint: checkpoint}, func(rec *element.Record) error {
		win.stats.Read++
		if r.crash != nil && r.crash("read") {
			return errCrash
		}
		c, why := observe(t, rec)
		if why != "" {
			if win.stats.Unreadable++; win.stats.Unusable == "" {
				win.stats.Unusable = why
			}
			return nil
		}
		win.page = append(win.page, c)
		return nil
	})
	return err
}

// judge classifies the page read against the records' last reported
// state: the events to report and the state to keep. With snapshots or a
// filter (snapshots.go), each event is also judged by the resource's
// rules against the record's last observed version, and every version
// read is kept as the last observed one.
func (win *window) judge(seen map[string]store.Seen) ([]*store.Event, map[string]store.Seen) {
	w, t, cfg, o := win.w, win.t, win.t.Config.Config, win.obs
	var events []*store.Event
	state := map[string]store.Seen{}
	for _, c := range win.page {
		s, known := seen[c.id]
		prev := reported(s, known)
		last := s.Snapshot
		keep := o.keep(last, c.raw, c.obs.updated)
		typ, report := classify(win.rule, c.obs, prev, w.Compare, w.Start)
		var diff map[string]changes.Change
		if report {
			report, diff = o.decide(typ, last, c.raw)
		}
		if !report {
			switch {
			case prev != nil && len(prev.Hash) == sha256.Size && c.obs.updated.Equal(prev.Updated) && sameContent(prev.Hash, c.obs.raw, c.obs.hash):
				// The same version under a version-1 (raw bytes) hash:
				// keep its state, under the current hash.
				state[c.id] = store.Seen{Updated: prev.Updated, Hash: c.obs.hash, CreatedSent: prev.CreatedSent, Snapshot: keep}
			case o.snapshots && !bytes.Equal(keep, last):
				// Observed, not reported (suppressed, or not a change):
				// the reported part stays as it was (none: NoHash).
				s.Snapshot = keep
				if !s.Reported() {
					s.Hash = store.NoHash
				}
				state[c.id] = s
			}
			continue
		}
		date := c.obs.updated
		if !cfg.FilterByUpdatedDate {
			date = c.obs.created
		}
		e := &store.Event{ID: delivery.NewID(), OrgID: t.OrgID, InstanceID: t.InstanceID,
			Resource: t.Resource, ObjectID: c.id, Type: typ, Date: date, PollDate: w.Start, Status: "NEW",
			ProviderData: string(c.raw), Backfill: w.Backfill && !date.After(w.Normal)}
		if typ == Updated && diff != nil {
			e.ChangedFields, _ = json.Marshal(diff)
		}
		events = append(events, e)
		if typ == Created {
			w.Created++
		} else {
			w.Updated++
		}
		state[c.id] = store.Seen{Updated: date, Hash: c.obs.hash, CreatedSent: typ == Created || (prev != nil && prev.CreatedSent), Snapshot: keep}
	}
	w.Records += len(win.page)
	return events, state
}

// commit writes the page read so far: its events, their records' state,
// their notifications and, unless final, the window's position; when
// final, the window is complete and the cursor moves to its start.
func (r *Runner) commit(ctx context.Context, win *window, runAt time.Time, final bool) error {
	t, w := win.t, win.w
	ids := make([]string, len(win.page))
	for i, c := range win.page {
		ids[i] = c.id
	}
	seen, err := r.Store.SeenFor(ctx, t.InstanceID, t.Resource, ids)
	if err != nil {
		return err
	}
	res := &store.RunResult{InstanceID: t.InstanceID, Resource: t.Resource, RunAt: runAt, TrackIDs: t.Config.Config.Deletes.Enabled}
	res.Events, res.Seen = win.judge(seen)
	if !final {
		res.Window = w
	}
	err = r.Store.InTx(ctx, func(tx *store.Tx) error {
		p, err := tx.GetPoll(ctx, t.InstanceID, t.Resource)
		if err != nil {
			return err
		}
		if final {
			res.Cursor, res.Floor = advance(p, w.Start), firstFloor(p, w.Normal)
			res.Backfilled, res.WindowBegan = w.Backfill, w.RunAt
			res.Stats = store.RunStats{Duration: r.now().Sub(w.RunAt), Pages: w.Pages, Records: w.Records, Created: w.Created, Updated: w.Updated}
		}
		if err := tx.CommitRun(ctx, res); err != nil {
			return err
		}
		n, err := r.Outbox.Add(ctx, tx, t.Notify, t.Resource, res.Events, r.now())
		if err != nil {
			return err
		}
		win.stats.Notified += n
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
	win.stats.RunAgain = res.StillAsked
	if err := r.Store.StateWritten(ctx, len(res.Seen)); err != nil {
		return err
	}
	win.stats.Events += len(res.Events)
	for _, e := range res.Events {
		if e.Type == Created {
			win.stats.Created++
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
func observe(t Target, rec *element.Record) (candidate, string) {
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
