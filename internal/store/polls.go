package store

import (
	"context"
	"database/sql"
	"slices"
	"time"
)

// Poll is one (instance, resource) being polled and where it stands.
type Poll struct {
	InstanceID int64
	Resource   string
	Interval   time.Duration
	// Cursor is the upstream clock at the start of the last successful
	// run (or when polling began): the next window starts from it.
	Cursor    time.Time
	JobID     int64
	Runs      int
	Failures  int // consecutive
	Events    int64
	LastRunAt time.Time
	LastOKAt  time.Time
	LastError string
	CreatedAt time.Time
}

const pollColumns = `instance_id, resource, interval_seconds, cursor, job_id, runs, failures, events,
	last_run_at, last_ok_at, last_error, created_at`

func scanPoll(sc interface{ Scan(...any) error }) (*Poll, error) {
	var p Poll
	var secs int64
	var job sql.NullInt64
	var lastRun, lastOK sql.NullTime
	if err := sc.Scan(&p.InstanceID, &p.Resource, &secs, &p.Cursor, &job, &p.Runs, &p.Failures, &p.Events,
		&lastRun, &lastOK, &p.LastError, &p.CreatedAt); err != nil {
		return nil, err
	}
	p.Interval = time.Duration(secs) * time.Second
	p.JobID, p.LastRunAt, p.LastOKAt = job.Int64, lastRun.Time, lastOK.Time
	return &p, nil
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
	_, err := q.exec(ctx, `UPDATE polls SET runs = runs + 1, failures = failures + 1, last_run_at = ?, last_error = ?
		WHERE instance_id = ? AND resource = ?`, at.UTC(), msg, instanceID, resource)
	return err
}

// Seen is what was last reported for one object.
type Seen struct {
	Updated     time.Time
	Hash        []byte
	CreatedSent bool
}

// SeenOf reads the dedupe state of a poll, by object ID.
func (q queries) SeenOf(ctx context.Context, instanceID int64, resource string) (map[string]Seen, error) {
	rows, err := q.query(ctx, `SELECT object_id, updated, hash, created_sent FROM seen WHERE instance_id = ? AND resource = ?`, instanceID, resource)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Seen{}
	for rows.Next() {
		var id string
		var s Seen
		if err := rows.Scan(&id, &s.Updated, &s.Hash, &s.CreatedSent); err != nil {
			return nil, q.d.wrap(err)
		}
		out[id] = s
	}
	return out, q.d.wrap(rows.Err())
}

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
	CreatedAt    time.Time
}

// RunResult is what one successful poll run commits, all at once.
type RunResult struct {
	InstanceID int64
	Resource   string
	Events     []*Event
	Seen       map[string]Seen // object ID → new state
	// PruneBefore drops dedupe state of objects last reported before it:
	// the next window starts later, so they can never be read again.
	PruneBefore time.Time
	Cursor      time.Time // moves forward only
	RunAt       time.Time
}

// CommitRun writes a run's events, dedupe state and cursor. It fails with
// ErrNotFound, writing nothing, when the poll was removed meanwhile.
func (t *Tx) CommitRun(ctx context.Context, r *RunResult) error {
	p, err := t.GetPoll(ctx, r.InstanceID, r.Resource)
	if err != nil {
		return err
	}
	cursor := r.Cursor
	if p.Cursor.After(cursor) {
		cursor = p.Cursor // a rescued duplicate run must not move it back
	}
	for _, e := range r.Events {
		e.CreatedAt = now()
		if err := t.row(ctx, `INSERT INTO events (id, org_id, instance_id, resource, object_id, event_type, event_date,
			poll_date, status, provider_data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			e.ID, e.OrgID, e.InstanceID, e.Resource, e.ObjectID, e.Type, e.Date.UTC(), e.PollDate.UTC(), e.Status,
			e.ProviderData, e.CreatedAt).Scan(&e.Seq); err != nil {
			return t.d.wrap(err)
		}
	}
	for id, s := range r.Seen {
		if _, err := t.exec(ctx, `INSERT INTO seen (instance_id, resource, object_id, updated, hash, created_sent)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (instance_id, resource, object_id) DO UPDATE SET updated = excluded.updated,
			hash = excluded.hash, created_sent = excluded.created_sent`,
			r.InstanceID, r.Resource, id, s.Updated.UTC(), s.Hash, t.d.bool(s.CreatedSent)); err != nil {
			return err
		}
	}
	if !r.PruneBefore.IsZero() {
		if _, err := t.exec(ctx, `DELETE FROM seen WHERE instance_id = ? AND resource = ? AND updated < ?`,
			r.InstanceID, r.Resource, r.PruneBefore.UTC()); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `UPDATE polls SET cursor = ?, runs = runs + 1, failures = 0, events = events + ?,
		last_run_at = ?, last_ok_at = ?, last_error = '' WHERE instance_id = ? AND resource = ?`,
		cursor.UTC(), len(r.Events), r.RunAt.UTC(), r.RunAt.UTC(), r.InstanceID, r.Resource)
	return err
}

// EventFilter selects events.
type EventFilter struct {
	InstanceID int64 // 0: every instance of the organization
	AfterSeq   int64
	Limit      int
}

const eventColumns = `seq, id, org_id, instance_id, resource, object_id, event_type, event_date, poll_date, status, provider_data, created_at`

func scanEvent(sc interface{ Scan(...any) error }) (*Event, error) {
	var e Event
	err := sc.Scan(&e.Seq, &e.ID, &e.OrgID, &e.InstanceID, &e.Resource, &e.ObjectID, &e.Type, &e.Date, &e.PollDate,
		&e.Status, &e.ProviderData, &e.CreatedAt)
	return &e, err
}

// Events lists an organization's events, oldest first.
func (q queries) Events(ctx context.Context, orgID int64, f EventFilter) ([]*Event, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	query := `SELECT ` + eventColumns + ` FROM events WHERE org_id = ? AND seq > ?`
	args := []any{orgID, f.AfterSeq}
	if f.InstanceID != 0 {
		query += ` AND instance_id = ?`
		args = append(args, f.InstanceID)
	}
	query += ` ORDER BY seq LIMIT ?`
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

// EventByID reads one event of an organization.
func (q queries) EventByID(ctx context.Context, orgID int64, id string) (*Event, error) {
	e, err := scanEvent(q.row(ctx, `SELECT `+eventColumns+` FROM events WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return nil, q.d.wrap(err)
	}
	return e, nil
}
