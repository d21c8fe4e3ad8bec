package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// Poll is one (instance, resource) being polled and where it stands.
type Poll struct {
	InstanceID int64
	Resource   string
	Interval   time.Duration
	// Cursor is where the next window starts: once Anchored, the upstream
	// clock at the first answer of the last complete window; before the
	// first window completes, our clock when polling began.
	Cursor   time.Time
	Anchored bool
	// Floor is the earliest date a normal window reports (zero: none yet):
	// the enable time on the upstream's clock, set by the first window.
	Floor time.Time
	// BaselineAt is when a resource with snapshots completed its baseline
	// scan (zero: not done, or snapshots off).
	BaselineAt time.Time
	// Window is the window a run is working through (nil: none open).
	Window       *Window
	JobID        int64
	Runs         int
	Failures     int // consecutive
	FailingSince time.Time
	Events       int64
	LastRunAt    time.Time
	LastOKAt     time.Time
	LastError    string
	// PausedReason, when set, says why the poll waits (a 403 on its
	// object, say) instead of running on its interval.
	PausedReason string
	RunNow       bool      // an operator asked for a run
	BackfillFrom time.Time // an operator asked for changes since then
	LastRun      RunStats
	LastScanAt   time.Time // the last complete delete scan
	LastScanNote string
	CreatedAt    time.Time
}

// RunStats describe the last successful run.
type RunStats struct {
	Duration                  time.Duration
	Pages, Records            int
	Created, Updated, Deleted int
}

const pollColumns = `instance_id, resource, interval_seconds, cursor, job_id, runs, failures, failing_since, events,
	last_run_at, last_ok_at, last_error, paused_reason, run_now, backfill_from, last_duration_ms, last_pages,
	last_records, last_created, last_updated, last_deleted, last_scan_at, last_scan_status, created_at,
	cursor_anchored, window_from, window_compare, window_normal, window_start, window_run_at, window_position,
	window_backfill, window_pages, window_records, window_created, window_updated, report_floor, baseline_at`

func scanPoll(sc interface{ Scan(...any) error }) (*Poll, error) {
	var p Poll
	var secs, ms int64
	var job sql.NullInt64
	var failing, lastRun, lastOK, backfill, lastScan sql.NullTime
	var wFrom, wCompare, wNormal, wStart, wRunAt, floor, baseline sql.NullTime
	var w Window
	if err := sc.Scan(&p.InstanceID, &p.Resource, &secs, &p.Cursor, &job, &p.Runs, &p.Failures, &failing, &p.Events,
		&lastRun, &lastOK, &p.LastError, &p.PausedReason, &p.RunNow, &backfill, &ms, &p.LastRun.Pages,
		&p.LastRun.Records, &p.LastRun.Created, &p.LastRun.Updated, &p.LastRun.Deleted, &lastScan, &p.LastScanNote,
		&p.CreatedAt, &p.Anchored, &wFrom, &wCompare, &wNormal, &wStart, &wRunAt, &w.Position, &w.Backfill,
		&w.Pages, &w.Records, &w.Created, &w.Updated, &floor, &baseline); err != nil {
		return nil, err
	}
	p.Floor, p.BaselineAt = floor.Time, baseline.Time
	if wStart.Valid {
		w.From, w.Compare, w.Normal, w.Start, w.RunAt = wFrom.Time, wCompare.Time, wNormal.Time, wStart.Time, wRunAt.Time
		p.Window = &w
	}
	p.Interval, p.LastRun.Duration = time.Duration(secs)*time.Second, time.Duration(ms)*time.Millisecond
	p.JobID, p.FailingSince, p.LastRunAt, p.LastOKAt = job.Int64, failing.Time, lastRun.Time, lastOK.Time
	p.BackfillFrom, p.LastScanAt = backfill.Time, lastScan.Time
	return &p, nil
}

// SetBaseline records when the poll's baseline scan completed (zero:
// none, so the next one starts over).
func (q queries) SetBaseline(ctx context.Context, instanceID int64, resource string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE polls SET baseline_at = ? WHERE instance_id = ? AND resource = ?`, nullTime(at), instanceID, resource)
	return err
}

// SyncPolls makes the instance's polls exactly resources: new ones start
// at cursor (no backfill), kept ones keep their cursor and take the new
// interval, others are removed with their dedupe state. It returns the
// polls after the change and the ones it removed.
func (q queries) SyncPolls(ctx context.Context, instanceID int64, resources []string, interval time.Duration, cursor time.Time) (kept, removed []*Poll, err error) {
	current, err := q.PollsOf(ctx, instanceID)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range current {
		if !slices.Contains(resources, p.Resource) {
			if _, err := q.exec(ctx, `DELETE FROM polls WHERE instance_id = ? AND resource = ?`, instanceID, p.Resource); err != nil {
				return nil, nil, err
			}
			removed = append(removed, p)
		} else if p.Interval != interval {
			if _, err := q.exec(ctx, `UPDATE polls SET interval_seconds = ? WHERE instance_id = ? AND resource = ?`,
				int64(interval/time.Second), instanceID, p.Resource); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, r := range resources {
		if !slices.ContainsFunc(current, func(p *Poll) bool { return p.Resource == r }) {
			if _, err := q.exec(ctx, `INSERT INTO polls (instance_id, resource, interval_seconds, cursor, created_at)
				VALUES (?, ?, ?, ?, ?)`, instanceID, r, int64(interval/time.Second), cursor.UTC(), now()); err != nil {
				return nil, nil, err
			}
		}
	}
	kept, err = q.PollsOf(ctx, instanceID)
	return kept, removed, err
}

// PollsOf lists an instance's polls.
func (q queries) PollsOf(ctx context.Context, instanceID int64) ([]*Poll, error) {
	return q.polls(ctx, `SELECT `+pollColumns+` FROM polls WHERE instance_id = ? ORDER BY resource`, instanceID)
}

// AllPolls lists every poll, for reconciliation with the job engine.
func (q queries) AllPolls(ctx context.Context) ([]*Poll, error) {
	return q.polls(ctx, `SELECT `+pollColumns+` FROM polls ORDER BY instance_id, resource`)
}

func (q queries) polls(ctx context.Context, query string, args ...any) ([]*Poll, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Poll
	for rows.Next() {
		p, err := scanPoll(rows)
		if err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, p)
	}
	return out, q.d.wrap(rows.Err())
}

// GetPoll reads one poll; ErrNotFound when the resource is no longer polled.
func (q queries) GetPoll(ctx context.Context, instanceID int64, resource string) (*Poll, error) {
	p, err := scanPoll(q.row(ctx, `SELECT `+pollColumns+` FROM polls WHERE instance_id = ? AND resource = ?`, instanceID, resource))
	return p, q.d.wrap(err)
}

// SetPollJob records the job that polls it.
func (q queries) SetPollJob(ctx context.Context, instanceID int64, resource string, jobID int64) error {
	_, err := q.exec(ctx, `UPDATE polls SET job_id = ? WHERE instance_id = ? AND resource = ?`, jobID, instanceID, resource)
	return err
}

// PollFailed records a run that did not complete: nothing else changes,
// so the next run covers the same window again.
func (q queries) PollFailed(ctx context.Context, instanceID int64, resource string, at time.Time, msg string) error {
	_, err := q.exec(ctx, `UPDATE polls SET runs = runs + 1, failures = failures + 1, last_run_at = ?, last_error = ?,
		failing_since = COALESCE(failing_since, ?) WHERE instance_id = ? AND resource = ?`,
		at.UTC(), msg, at.UTC(), instanceID, resource)
	return err
}

// PausePoll makes a poll wait for a reason (or resume, with "").
func (q queries) PausePoll(ctx context.Context, instanceID int64, resource, reason string) error {
	_, err := q.exec(ctx, `UPDATE polls SET paused_reason = ? WHERE instance_id = ? AND resource = ?`, reason, instanceID, resource)
	return err
}

// ResumePolls clears every pause of an instance's polls (its
// configuration or credentials changed: worth trying again).
func (q queries) ResumePolls(ctx context.Context, instanceID int64) error {
	_, err := q.exec(ctx, `UPDATE polls SET paused_reason = '' WHERE instance_id = ?`, instanceID)
	return err
}

// RequestRun asks for a run of one poll (or all of the instance's, with
// resource ""); backfill, when not zero, asks it to report everything
// changed since then. at is when it was asked, on the clock the runs use:
// a run that began before it does not clear it (CommitRun).
func (q queries) RequestRun(ctx context.Context, instanceID int64, resource string, backfill, at time.Time) (int, error) {
	at = at.UTC()
	query := `UPDATE polls SET run_now = ?, run_requested_at = ?`
	args := []any{q.d.bool(true), at}
	if !backfill.IsZero() {
		query += `, backfill_from = ?, backfill_requested_at = ?`
		args = append(args, backfill.UTC(), at)
	}
	query += ` WHERE instance_id = ?`
	args = append(args, instanceID)
	if resource != "" {
		query += ` AND resource = ?`
		args = append(args, resource)
	}
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SetInstanceValid records whether an instance's credentials work, and
// why not.
func (q queries) SetInstanceValid(ctx context.Context, instanceID int64, valid bool, reason string) error {
	_, err := q.exec(ctx, `UPDATE instances SET valid = ?, invalid_reason = ? WHERE id = ?`, q.d.bool(valid), reason, instanceID)
	return err
}

// Seen is what was last reported for one object.
type Seen struct {
	Updated     time.Time
	Hash        []byte
	CreatedSent bool
	// Snapshot, when the resource keeps snapshots, is the record's last
	// observed version (JSON; stored compressed); nil when none is kept.
	Snapshot []byte
}

// NoHash is the hash of a state that reports nothing: a record observed
// (its snapshot kept) but never reported. A real hash is 32 bytes or
// more; an empty one would not survive every driver (SQLite hands back a
// zero-length blob as NULL).
var NoHash = []byte{0}

// Reported says whether the state holds a reported version.
func (s Seen) Reported() bool { return len(s.Hash) > len(NoHash) }

// Event is one change reported for an object.
type Event struct {
	Seq          int64
	ID           string
	OrgID        int64
	InstanceID   int64
	Resource     string
	ObjectID     string
	Type         string // CREATED, UPDATED, DELETED
	Date         time.Time
	PollDate     time.Time
	Status       string
	ProviderData string
	Backfill     bool // reported by an operator's backfill
	CreatedAt    time.Time
	// NotificationID is the notification that carries the event ("" when
	// the instance has no callback, or once the notification is pruned).
	NotificationID string
	// ChangedFields, on an UPDATED whose previous version was observed, is
	// its field diff: {"<field>": {"before": …, "after": …}}; nil otherwise.
	ChangedFields json.RawMessage
}

// RunResult is what a run commits: a chunk of a window (its events, the
// per-record state of what it reported, where the window stands), and,
// when the window is complete, the cursor it leads to.
type RunResult struct {
	InstanceID int64
	Resource   string
	Events     []*Event
	Seen       map[string]Seen // object ID → new state
	// Window is the open window after this chunk (with its position);
	// nil when this chunk completes it.
	Window *Window
	// Cursor, when the window is complete, is where the next one starts:
	// on the upstream's clock, anchored from then on.
	Cursor time.Time
	// Floor, when set, becomes the earliest date later normal windows
	// report (Poll.Floor).
	Floor time.Time
	RunAt time.Time
	Stats RunStats
	// TrackIDs adds the events' objects to the known IDs (delete detection on).
	TrackIDs bool
	// Backfilled clears a backfill request the window fulfilled, if it
	// was made before WindowBegan (our clock when the window began).
	Backfilled  bool
	WindowBegan time.Time

	// StillAsked, set by CommitRun when the window completes, tells that
	// a run was asked for after this one began (it stays asked for).
	StillAsked bool
}

// CommitRun writes a chunk of a window: its events and per-record state,
// and either the window's new position or, when it completes, the cursor
// (anchored from then on) and the run's statistics. Per-record state is
// never pruned here: it lasts as long as the record is known to exist
// (a DELETED removes it). What the cursor and floor become is the
// caller's decision (package poller), made on the poll as read in the
// same transaction. It fails with ErrNotFound, writing nothing, when the
// poll is gone.
func (t *Tx) CommitRun(ctx context.Context, r *RunResult) error {
	for _, e := range r.Events {
		if err := t.insertEvent(ctx, e); err != nil {
			return err
		}
	}
	if err := t.putSeen(ctx, r.InstanceID, r.Resource, r.Seen); err != nil {
		return err
	}
	if r.TrackIDs {
		for _, e := range r.Events {
			if err := t.addKnown(ctx, r.InstanceID, r.Resource, e.ObjectID); err != nil {
				return err
			}
		}
	}
	if w := r.Window; w != nil {
		res, err := t.exec(ctx, `UPDATE polls SET events = events + ?, window_from = ?, window_compare = ?, window_normal = ?,
			window_start = ?, window_run_at = ?, window_position = ?, window_backfill = ?, window_pages = ?,
			window_records = ?, window_created = ?, window_updated = ? WHERE instance_id = ? AND resource = ?`,
			len(r.Events), w.From.UTC(), w.Compare.UTC(), w.Normal.UTC(), w.Start.UTC(), w.RunAt.UTC(), w.Position,
			t.d.bool(w.Backfill), w.Pages, w.Records, w.Created, w.Updated, r.InstanceID, r.Resource)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrNotFound
		}
		return nil
	}
	// A run or backfill asked for after this run (or its window) began is
	// not served by it: it stays asked for.
	set := `UPDATE polls SET cursor = ?, cursor_anchored = ?, runs = runs + 1, failures = 0, failing_since = NULL,
		events = events + ?, last_run_at = ?, last_ok_at = ?, last_error = '', paused_reason = '',
		run_now = CASE WHEN run_requested_at > ? THEN run_now ELSE ? END,
		last_duration_ms = ?, last_pages = ?, last_records = ?, last_created = ?, last_updated = ?, last_deleted = ?,
		window_from = NULL, window_compare = NULL, window_normal = NULL, window_start = NULL, window_run_at = NULL,
		window_position = '', window_backfill = ?, window_pages = 0, window_records = 0, window_created = 0,
		window_updated = 0`
	args := []any{r.Cursor.UTC(), t.d.bool(true), len(r.Events), r.RunAt.UTC(), r.RunAt.UTC(), r.RunAt.UTC(), t.d.bool(false),
		r.Stats.Duration.Milliseconds(), r.Stats.Pages, r.Stats.Records, r.Stats.Created, r.Stats.Updated,
		r.Stats.Deleted, t.d.bool(false)}
	if r.Backfilled {
		set += `, backfill_from = CASE WHEN backfill_requested_at > ? THEN backfill_from ELSE NULL END`
		args = append(args, r.WindowBegan.UTC())
	}
	if !r.Floor.IsZero() {
		set += `, report_floor = ?`
		args = append(args, r.Floor.UTC())
	}
	err := t.row(ctx, set+` WHERE instance_id = ? AND resource = ? RETURNING run_now`, append(args, r.InstanceID, r.Resource)...).Scan(&r.StillAsked)
	return t.d.wrap(err)
}

func (q queries) addKnown(ctx context.Context, instanceID int64, resource, id string) error {
	_, err := q.exec(ctx, `INSERT INTO known_ids (instance_id, resource, object_id) VALUES (?, ?, ?)
		ON CONFLICT (instance_id, resource, object_id) DO NOTHING`, instanceID, resource, id)
	return err
}

// KnownIDs are the objects known to exist, for delete detection.
func (q queries) KnownIDs(ctx context.Context, instanceID int64, resource string) (map[string]bool, error) {
	rows, err := q.query(ctx, `SELECT object_id FROM known_ids WHERE instance_id = ? AND resource = ?`, instanceID, resource)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, q.d.wrap(err)
		}
		out[id] = true
	}
	return out, q.d.wrap(rows.Err())
}

// ScanResult is what a delete scan commits.
type ScanResult struct {
	InstanceID int64
	Resource   string
	Present    []string // IDs the scan found: known from now on
	Deleted    []*Event // one DELETED event per confirmed deletion reported
	// Forgotten are confirmed deletions not reported (the resource's
	// filter did not match their last observed version): their state goes
	// as a reported one's does.
	Forgotten []string
	At        time.Time
	Note      string // what the scan concluded, for the status
	Complete  bool   // a complete scan moves last_scan_at
}

// CommitScan writes a delete scan's outcome.
func (t *Tx) CommitScan(ctx context.Context, r *ScanResult) error {
	if _, err := t.GetPoll(ctx, r.InstanceID, r.Resource); err != nil {
		return err
	}
	for _, id := range r.Present {
		if err := t.addKnown(ctx, r.InstanceID, r.Resource, id); err != nil {
			return err
		}
	}
	gone := slices.Clone(r.Forgotten)
	for _, e := range r.Deleted {
		if err := t.insertEvent(ctx, e); err != nil {
			return err
		}
		gone = append(gone, e.ObjectID)
	}
	for _, id := range gone {
		// A deleted record's state, its snapshot included, goes with it.
		if _, err := t.exec(ctx, `DELETE FROM known_ids WHERE instance_id = ? AND resource = ? AND object_id = ?`,
			r.InstanceID, r.Resource, id); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM seen WHERE instance_id = ? AND resource = ? AND object_id = ?`,
			r.InstanceID, r.Resource, id); err != nil {
			return err
		}
	}
	query := `UPDATE polls SET last_scan_status = ?, events = events + ?`
	args := []any{r.Note, len(r.Deleted)}
	if r.Complete {
		query += `, last_scan_at = ?`
		args = append(args, r.At.UTC())
	}
	_, err := t.exec(ctx, query+` WHERE instance_id = ? AND resource = ?`, append(args, r.InstanceID, r.Resource)...)
	return err
}

// Quota is what an upstream account last said of its daily quota.
type Quota struct {
	Account   string
	Limit     int
	Remaining int // -1 unknown
	ResetAt   time.Time
	UpdatedAt time.Time
	// Offset is the upstream's clock less ours when it stated the quota:
	// its quota day ends at midnight UTC on its clock.
	Offset time.Duration
}

// AccountQuota reads an account's quota state; zero when unknown.
func (q queries) AccountQuota(ctx context.Context, account string) (Quota, error) {
	var out Quota
	var reset sql.NullTime
	var offsetMs int64
	err := q.row(ctx, `SELECT account, quota_limit, quota_remaining, quota_reset_at, updated_at, quota_clock_offset_ms FROM accounts WHERE account = ?`, account).
		Scan(&out.Account, &out.Limit, &out.Remaining, &reset, &out.UpdatedAt, &offsetMs)
	if errors.Is(err, sql.ErrNoRows) {
		return Quota{Account: account, Remaining: -1}, nil
	}
	out.ResetAt, out.Offset = reset.Time, time.Duration(offsetMs)*time.Millisecond
	return out, q.d.wrap(err)
}

// SetAccountQuota records an account's quota state for every replica;
// qt.UpdatedAt is when it was stated (zero: now).
func (q queries) SetAccountQuota(ctx context.Context, qt Quota) error {
	var reset any
	if !qt.ResetAt.IsZero() {
		reset = qt.ResetAt.UTC()
	}
	stated := now()
	if !qt.UpdatedAt.IsZero() {
		stated = qt.UpdatedAt.UTC().Truncate(time.Microsecond)
	}
	_, err := q.exec(ctx, `INSERT INTO accounts (account, quota_limit, quota_remaining, quota_reset_at, updated_at, quota_clock_offset_ms)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET quota_limit = excluded.quota_limit,
		quota_remaining = excluded.quota_remaining, quota_reset_at = excluded.quota_reset_at, updated_at = excluded.updated_at,
		quota_clock_offset_ms = excluded.quota_clock_offset_ms`,
		qt.Account, qt.Limit, qt.Remaining, reset, stated, qt.Offset.Milliseconds())
	return err
}

// EventFilter selects events. Zero fields select everything.
type EventFilter struct {
	InstanceID int64 // 0: every instance of the organization
	AfterSeq   int64
	Limit      int
	Resource   string // the event's objectType ("contacts")
	Type       string // CREATED, UPDATED or DELETED
	// DeliveryStatus is the status of the notification carrying the event
	// (created, retry, queued, delivered), or EventNotNotified for events
	// no notification carries (no callback, or history pruned).
	DeliveryStatus string
	// Since (inclusive) and Until (exclusive) bound when pollhook recorded
	// the event (its created_at).
	Since, Until time.Time
}

// EventNotNotified is the EventFilter.DeliveryStatus of events without a
// notification.
const EventNotNotified = "none"

// Event types.
const (
	EventCreated = "CREATED"
	EventUpdated = "UPDATED"
	EventDeleted = "DELETED"
)

// where adds the filter's conditions (but AfterSeq and Limit) on the events
// table to query.
func (f EventFilter) where(query string, args []any) (string, []any) {
	if f.InstanceID != 0 {
		query += ` AND events.instance_id = ?`
		args = append(args, f.InstanceID)
	}
	if f.Resource != "" {
		query += ` AND events.resource = ?`
		args = append(args, f.Resource)
	}
	if f.Type != "" {
		query += ` AND events.event_type = ?`
		args = append(args, f.Type)
	}
	if !f.Since.IsZero() {
		query += ` AND events.created_at >= ?`
		args = append(args, f.Since.UTC())
	}
	if !f.Until.IsZero() {
		query += ` AND events.created_at < ?`
		args = append(args, f.Until.UTC())
	}
	switch f.DeliveryStatus {
	case "":
	case EventNotNotified:
		query += ` AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.seq = events.notification_id)`
	default:
		query += ` AND EXISTS (SELECT 1 FROM notifications n WHERE n.seq = events.notification_id AND n.status = ?)`
		args = append(args, f.DeliveryStatus)
	}
	return query, args
}

const eventColumns = `seq, id, org_id, instance_id, resource, object_id, event_type, event_date, poll_date, status, provider_data, backfill, created_at,
	COALESCE((SELECT n.id FROM notifications n WHERE n.seq = events.notification_id), ''), changed_fields`

func scanEvent(sc interface{ Scan(...any) error }) (*Event, error) {
	var e Event
	var changed string
	err := sc.Scan(&e.Seq, &e.ID, &e.OrgID, &e.InstanceID, &e.Resource, &e.ObjectID, &e.Type, &e.Date, &e.PollDate,
		&e.Status, &e.ProviderData, &e.Backfill, &e.CreatedAt, &e.NotificationID, &changed)
	if changed != "" {
		e.ChangedFields = json.RawMessage(changed)
	}
	return &e, err
}

// Events lists a page of an organization's events matching f, oldest
// first: at most f.Limit (1000) after f.AfterSeq.
func (q queries) Events(ctx context.Context, orgID int64, f EventFilter) ([]*Event, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	query, args := f.where(`SELECT `+eventColumns+` FROM events WHERE events.org_id = ? AND events.seq > ?`, []any{orgID, f.AfterSeq})
	query += ` ORDER BY events.seq LIMIT ?`
	args = append(args, limit)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, e)
	}
	return out, q.d.wrap(rows.Err())
}

// CountEvents counts an organization's events matching f (AfterSeq and
// Limit aside).
func (q queries) CountEvents(ctx context.Context, orgID int64, f EventFilter) (int, error) {
	query, args := f.where(`SELECT COUNT(*) FROM events WHERE events.org_id = ?`, []any{orgID})
	var n int
	err := q.row(ctx, query, args...).Scan(&n)
	return n, q.d.wrap(err)
}

// EventNotifications lists a page of the distinct notifications carrying
// at least one of an organization's events matching f (AfterSeq and
// Limit aside), in seq order: at most limit (1 to MaxNotificationPage)
// after the notification seq after. Page on with after set to the last
// row's Seq until a page comes back shorter than limit: each notification
// comes once.
func (q queries) EventNotifications(ctx context.Context, orgID int64, f EventFilter, after int64, limit int) ([]*Notification, error) {
	if limit <= 0 || limit > MaxNotificationPage {
		limit = MaxNotificationPage
	}
	sub, args := f.where(`SELECT events.notification_id FROM events WHERE events.org_id = ? AND events.notification_id > ?`, []any{orgID, after})
	query := `SELECT ` + notificationColumns + ` FROM notifications WHERE org_id = ? AND seq > ? AND seq IN (` + sub + `) ORDER BY seq LIMIT ?`
	return q.notifications(ctx, query, append(append([]any{orgID, after}, args...), limit)...)
}

// LatestEvent is an instance's most recent event of one of resources
// (any resource when none is given); ErrNotFound when it has none.
func (q queries) LatestEvent(ctx context.Context, instanceID int64, resources ...string) (*Event, error) {
	query := `SELECT ` + eventColumns + ` FROM events WHERE instance_id = ?`
	args := []any{instanceID}
	if len(resources) > 0 {
		query += ` AND resource IN (` + placeholders(len(resources)) + `)`
		for _, r := range resources {
			args = append(args, r)
		}
	}
	e, err := scanEvent(q.row(ctx, query+` ORDER BY seq DESC LIMIT 1`, args...))
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return e, nil
}

// EventByID reads one event of an organization.
func (q queries) EventByID(ctx context.Context, orgID int64, id string) (*Event, error) {
	e, err := scanEvent(q.row(ctx, `SELECT `+eventColumns+` FROM events WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return e, nil
}

func (t *Tx) insertEvent(ctx context.Context, e *Event) error {
	e.CreatedAt = now()
	return t.d.wrap(t.row(ctx, `INSERT INTO events (id, org_id, instance_id, resource, object_id, event_type, event_date,
		poll_date, status, provider_data, backfill, created_at, changed_fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.ID, e.OrgID, e.InstanceID, e.Resource, e.ObjectID, e.Type, e.Date.UTC(), e.PollDate.UTC(), e.Status,
		e.ProviderData, t.d.bool(e.Backfill), e.CreatedAt, string(e.ChangedFields)).Scan(&e.Seq))
}

// AccountPoll is one poll of an upstream account, with what a forecast of
// the account's calls needs beside the poll itself.
type AccountPoll struct {
	Poll  *Poll
	OrgID int64
	// PollerConfig is the instance's value of the configuration key asked
	// for ("" when unset); the store does not parse it.
	PollerConfig string
	// KnownRecords is how many record IDs delete detection knows for the
	// poll (its known_ids).
	KnownRecords int
}

// AccountPolls lists the polls of every instance, in every organization,
// whose upstream account is account and that polls (events enabled, not
// disabled), ordered by instance and resource; configKey names the
// instance configuration key to return as PollerConfig. Read from the
// database, so every replica agrees.
func (q queries) AccountPolls(ctx context.Context, account, configKey string) ([]AccountPoll, error) {
	rows, err := q.query(ctx, `SELECT `+qualifiedPollColumns+`, i.org_id,
		COALESCE((SELECT c.value FROM instance_config c WHERE c.instance_id = i.id AND c.key = ? ORDER BY c.id LIMIT 1), ''),
		(SELECT COUNT(*) FROM known_ids k WHERE k.instance_id = p.instance_id AND k.resource = p.resource)
		FROM polls p JOIN instances i ON i.id = p.instance_id
		WHERE i.account = ? AND i.events_enabled = ? AND i.disabled = ? AND i.valid = ?
		ORDER BY p.instance_id, p.resource`, configKey, account, q.d.bool(true), q.d.bool(false), q.d.bool(true))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AccountPoll
	for rows.Next() {
		var ap AccountPoll
		p, err := scanPoll(extraScan{rows, []any{&ap.OrgID, &ap.PollerConfig, &ap.KnownRecords}})
		if err != nil {
			return nil, q.d.wrap(err)
		}
		ap.Poll = p
		out = append(out, ap)
	}
	return out, q.d.wrap(rows.Err())
}

// PolledAccounts lists the upstream accounts that have at least one poll
// of an instance that polls (events enabled, not disabled), sorted.
func (q queries) PolledAccounts(ctx context.Context) ([]string, error) {
	rows, err := q.query(ctx, `SELECT DISTINCT i.account FROM instances i
		WHERE i.account <> '' AND i.events_enabled = ? AND i.disabled = ?
		AND EXISTS (SELECT 1 FROM polls p WHERE p.instance_id = i.id) ORDER BY i.account`, q.d.bool(true), q.d.bool(false))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, a)
	}
	return out, q.d.wrap(rows.Err())
}

// qualifiedPollColumns is pollColumns on the table alias p.
var qualifiedPollColumns = func() string {
	cols := strings.Split(pollColumns, ",")
	for i, c := range cols {
		cols[i] = "p." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// extraScan scans a row's columns into a scanner's destinations, then
// into extra, for queries that add columns after a known list.
type extraScan struct {
	sc    interface{ Scan(...any) error }
	extra []any
}

func (e extraScan) Scan(dest ...any) error { return e.sc.Scan(append(dest, e.extra...)...) }
