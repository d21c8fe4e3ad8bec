package poller

import (
	"time"

	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/store"
)

// The cursor, and the windows it leads to.
//
// A poll's cursor is where its next window starts. It is always on the
// upstream's clock, except before the first window completes: a new poll
// starts unanchored, holding our clock when polling was enabled (nothing
// was asked of the upstream then). The first window anchors it: it learns
// the upstream's clock from the first answer (its Date), judges records
// against the enable time on that clock, and sets the cursor to that
// Date. From then on nothing compares our clock with the upstream's.
//
// A window is planned in two steps, both pure: scanStart, before anything
// is read (what the where clause asks for), and plan, once the first
// answer tells the upstream's clock (what is reported, and the next
// cursor). The window is then committed page by page, with the scan
// position, so that a crash or timeout resumes it.

// Cursor is a poll's cursor and what a window needs of the poll.
type Cursor struct {
	At       time.Time // upstream clock once Anchored; our clock at enable before
	Anchored bool
	// BackfillFrom, when set, asks the next window to report changes
	// since then too (on the upstream's clock).
	BackfillFrom time.Time
	// Floor, once the first window set it, is the earliest date a normal
	// window reports: the enable time on the upstream's clock. A window
	// that reaches back further (a wider overlap or poll delay on a young
	// poll) re-reads, but reports nothing from before polling began; only
	// a backfill does.
	Floor time.Time
}

// cursorOf is the poll's cursor as a window reads it.
func cursorOf(p *store.Poll) Cursor {
	return Cursor{At: p.Cursor, Anchored: p.Anchored, BackfillFrom: p.BackfillFrom, Floor: p.Floor}
}

// Timing is what a resource's configuration says of windows.
type Timing struct {
	Overlap   time.Duration // how far each window reaches back before the cursor
	PollDelay time.Duration // how long a change may take to become visible upstream
}

// timingOf is a resource configuration's timing.
func timingOf(cfg *pollconfig.Resource) Timing {
	return Timing{Overlap: cfg.Overlap, PollDelay: cfg.PollDelay}
}

// firstMargin is how far before the enable time the first window reaches:
// record times are whole seconds and the skew is measured to the second,
// so a change in the second polling began, or the next, cannot be told
// from one just before. Better a change from just before than one lost.
const firstMargin = 2 * time.Second

// MaxFirstSkew is how far the upstream's clock may differ from ours
// without the first window missing changes: it reads this much wider on
// both sides before it knows the difference.
const MaxFirstSkew = 15 * time.Minute

// scanStart is where a new window's scan starts reading, before the
// upstream's clock is known.
func scanStart(c Cursor, t Timing) time.Time {
	from := c.At.Add(-t.PollDelay - t.Overlap)
	if !c.Anchored {
		from = c.At.Add(-t.PollDelay - firstMargin - MaxFirstSkew)
	}
	if !c.BackfillFrom.IsZero() && c.BackfillFrom.Before(from) {
		from = c.BackfillFrom
	}
	return from
}

// plan is a new window, once its first answer came: runAt is our clock
// when the window began, upstream the upstream's clock at that answer.
//   - Compare: records updated at or before it are not reported. Anchored:
//     the cursor less the delay and overlap. Unanchored: the enable time
//     moved onto the upstream's clock (by upstream − runAt), less the
//     delay and the first margin.
//   - Normal: the same bound without a backfill; a backfill reports from
//     its date (Compare), and marks what it finds at or before Normal.
//   - Start, the next cursor: the upstream's clock at the first answer,
//     whatever ours says.
func plan(c Cursor, t Timing, runAt, upstream time.Time) store.Window {
	normal := c.At.Add(-t.PollDelay - t.Overlap)
	if c.Anchored && normal.Before(c.Floor) {
		normal = c.Floor
	}
	if !c.Anchored {
		skew := upstream.Sub(runAt.Truncate(time.Second))
		normal = c.At.Add(skew - t.PollDelay - firstMargin)
	}
	w := store.Window{From: scanStart(c, t), Compare: normal, Normal: normal, Start: upstream.UTC(), RunAt: runAt.UTC()}
	if !c.BackfillFrom.IsZero() {
		w.Backfill = true
		if c.BackfillFrom.Before(w.Compare) {
			w.Compare = c.BackfillFrom
		}
	}
	// The scan must read everything that may be reported: with a skew
	// beyond MaxFirstSkew, Compare can fall before From; reading from
	// From still reports what the scan sees, and says nothing false.
	if w.Compare.Before(w.From) {
		w.Compare = w.From
	}
	return w
}

// advance is where a completed window leaves the cursor: at the window's
// start, on the upstream's clock. An anchored cursor only moves forward: a
// duplicate run (a job rescued while its first run still finished) that
// began earlier must not move it back.
func advance(p *store.Poll, start time.Time) time.Time {
	if p.Anchored && p.Cursor.After(start) {
		return p.Cursor
	}
	return start
}

// firstFloor is the floor a completed window sets: the first window's
// Normal bound (the enable time on the upstream's clock), and nothing
// once the poll has one (zero: keep it).
func firstFloor(p *store.Poll, normal time.Time) time.Time {
	if p.Anchored || !p.Floor.IsZero() {
		return time.Time{}
	}
	return normal
}
