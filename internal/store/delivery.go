package store

import (
	"cmp"
	"context"
	"database/sql"
	"strings"
	"time"
)

// Callback states.
const (
	CallbackActive    = "active"
	CallbackRetrying  = "retrying"
	CallbackSuspended = "suspended"
)

// Notification states, Cloud Elements' delivery statuses (spec §4.4).
const (
	NotificationCreated   = "created"   // waiting to be sent
	NotificationRetry     = "retry"     // failed, will be tried again
	NotificationQueued    = "queued"    // held while its callback is suspended
	NotificationDelivered = "delivered" // a 2xx came back
)

// Callback is one receiver URL of an organization, with its failure state:
// failures are tracked per callback, not per notification.
type Callback struct {
	ID             int64
	OrgID          int64
	URL            string
	State          string
	Failures       int
	FirstFailureAt time.Time
	NextAttemptAt  time.Time
	SuspendedAt    time.Time
	LastError      string
	CreatedAt      time.Time
}

const callbackColumns = `id, org_id, url, state, failures, first_failure_at, next_attempt_at, suspended_at, last_error, created_at`

func scanCallback(sc interface{ Scan(...any) error }) (*Callback, error) {
	var c Callback
	var first, next, susp sql.NullTime
	if err := sc.Scan(&c.ID, &c.OrgID, &c.URL, &c.State, &c.Failures, &first, &next, &susp, &c.LastError, &c.CreatedAt); err != nil {
		return nil, err
	}
	c.FirstFailureAt, c.NextAttemptAt, c.SuspendedAt = first.Time, next.Time, susp.Time
	return &c, nil
}

// CallbackFor returns the organization's callback for url, creating it.
func (q queries) CallbackFor(ctx context.Context, orgID int64, url string) (*Callback, error) {
	if _, err := q.exec(ctx, `INSERT INTO callbacks (org_id, url, created_at) VALUES (?, ?, ?)
		ON CONFLICT (org_id, url) DO NOTHING`, orgID, url, now()); err != nil {
		return nil, err
	}
	c, err := scanCallback(q.row(ctx, `SELECT `+callbackColumns+` FROM callbacks WHERE org_id = ? AND url = ?`, orgID, url))
	return c, q.d.wrap(err)
}

// GetCallback reads a callback; orgID 0 means any organization's.
func (q queries) GetCallback(ctx context.Context, orgID, id int64) (*Callback, error) {
	c, err := scanCallback(q.row(ctx, `SELECT `+callbackColumns+` FROM callbacks WHERE id = ? AND (? = 0 OR org_id = ?)`, id, orgID, orgID))
	return c, q.d.wrap(err)
}

// Callbacks lists an organization's callbacks.
func (q queries) Callbacks(ctx context.Context, orgID int64) ([]*Callback, error) {
	rows, err := q.query(ctx, `SELECT `+callbackColumns+` FROM callbacks WHERE org_id = ? ORDER BY id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Callback
	for rows.Next() {
		c, err := scanCallback(rows)
		if err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, c)
	}
	return out, q.d.wrap(rows.Err())
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// UpdateCallback writes a callback's failure state.
func (q queries) UpdateCallback(ctx context.Context, c *Callback) error {
	_, err := q.exec(ctx, `UPDATE callbacks SET state = ?, failures = ?, first_failure_at = ?, next_attempt_at = ?,
		suspended_at = ?, last_error = ? WHERE id = ?`, c.State, c.Failures, nullTime(c.FirstFailureAt),
		nullTime(c.NextAttemptAt), nullTime(c.SuspendedAt), c.LastError, c.ID)
	return err
}

// Notification is one notification in the outbox.
type Notification struct {
	Seq         int64
	ID          string
	OrgID       int64
	InstanceID  int64
	CallbackID  int64
	Resource    string
	Body        []byte
	Status      string
	Attempts    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeliveredAt time.Time
}

const notificationColumns = `seq, id, org_id, instance_id, callback_id, resource, body, status, attempts, created_at, updated_at, delivered_at`

func scanNotification(sc interface{ Scan(...any) error }) (*Notification, error) {
	var n Notification
	var delivered sql.NullTime
	if err := sc.Scan(&n.Seq, &n.ID, &n.OrgID, &n.InstanceID, &n.CallbackID, &n.Resource, &n.Body, &n.Status, &n.Attempts,
		&n.CreatedAt, &n.UpdatedAt, &delivered); err != nil {
		return nil, err
	}
	n.DeliveredAt = delivered.Time
	return &n, nil
}

// InsertNotification adds a notification to the outbox, carrying events
// (by seq), with the status the caller gives it (created when none).
func (t *Tx) InsertNotification(ctx context.Context, n *Notification, eventSeqs []int64) error {
	n.Status = cmp.Or(n.Status, NotificationCreated)
	n.CreatedAt = now()
	n.UpdatedAt = n.CreatedAt
	if err := t.row(ctx, `INSERT INTO notifications (id, org_id, instance_id, callback_id, resource, body, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`, n.ID, n.OrgID, n.InstanceID, n.CallbackID, n.Resource, n.Body,
		n.Status, n.CreatedAt, n.UpdatedAt).Scan(&n.Seq); err != nil {
		return t.d.wrap(err)
	}
	if len(eventSeqs) > 0 {
		args := []any{n.Seq}
		for _, seq := range eventSeqs {
			args = append(args, seq)
		}
		if _, err := t.exec(ctx, `UPDATE events SET notification_id = ? WHERE seq IN (`+placeholders(len(eventSeqs))+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// PendingNotifications are a callback's notifications waiting to be sent,
// oldest first.
//
// The query must walk the partial index notifications_waiting in order and
// stop after limit rows, whatever the planner believes: on PostgreSQL,
// "callback_id = $1 … ORDER BY seq" let it walk the primary key instead
// (filtering out every other callback's rows and every delivered one) when
// its statistics said most rows were waiting, or read the callback's whole
// backlog and sort it when they said the table was empty. Ordering by
// (callback_id, seq) with callback_id = ANY(…) leaves it one cheap plan.
//
// after skips the notifications up to that seq: a delivery run reads the
// next pass while the previous one's attempts are still being recorded.
func (q queries) PendingNotifications(ctx context.Context, callbackID, after int64, limit int) ([]*Notification, error) {
	match := `callback_id = ?`
	if q.d.name == Postgres {
		match = `callback_id = ANY(ARRAY[?::bigint])`
	}
	return q.notifications(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE `+match+` AND status IN ('created', 'retry') AND seq > ? ORDER BY callback_id, seq LIMIT ?`, callbackID, after, limit)
}

func (q queries) notifications(ctx context.Context, query string, args ...any) ([]*Notification, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, n)
	}
	return out, q.d.wrap(rows.Err())
}

// Attempt is one try at delivering a notification.
type Attempt struct {
	ID         int64
	At         time.Time
	StatusCode int // 0: no response
	Latency    time.Duration
	Error      string
	Response   string // the first 2 KB
}

// AttemptResult is one attempt to record with RecordAttempts.
type AttemptResult struct {
	Notification *Notification
	Attempt      Attempt
	Status       string // NotificationDelivered or NotificationRetry
}

// RecordAttempts records a pass of attempts in a few statements, whatever
// their number, and writes each notification's status under a version
// check: only if the row is the version read (its updated_at is still the
// read one's). A row changed since keeps the status it was changed to and
// counts the attempt; the notification's events are marked NOTIFIED when
// it is written delivered.
//
// A first-try success (firstTry) that passes the version check is
// written on the notification's row itself, in the statement that marks
// it delivered, and adds no attempts row: it is most deliveries, and the
// attempts row with its three index entries was most of the database's
// work per delivery (docs/BENCHMARKS.md). Every other attempt is an
// attempts row. Attempts lists both.
func (t *Tx) RecordAttempts(ctx context.Context, results []AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	at := now()
	changed := map[int64]bool{}
	for _, status := range []string{NotificationDelivered, NotificationRetry} {
		if err := t.writeStatus(ctx, results, status, at, changed); err != nil {
			return err
		}
	}
	var rows []AttemptResult
	var untouched, notified []any
	for _, r := range results {
		n := r.Notification
		if !changed[n.Seq] || !r.firstTry() {
			rows = append(rows, r)
		}
		if !changed[n.Seq] {
			untouched = append(untouched, n.Seq)
			n.Attempts++
			continue
		}
		n.Status, n.Attempts, n.UpdatedAt = r.Status, n.Attempts+1, at
		if r.Status == NotificationDelivered {
			n.DeliveredAt = r.Attempt.At
			notified = append(notified, n.Seq)
		}
	}
	if err := t.insertAttempts(ctx, rows); err != nil {
		return err
	}
	if len(untouched) > 0 {
		if _, err := t.exec(ctx, `UPDATE notifications SET attempts = attempts + 1 WHERE seq IN (`+placeholders(len(untouched))+`)`, untouched...); err != nil {
			return err
		}
	}
	if len(notified) > 0 {
		if _, err := t.exec(ctx, `UPDATE events SET status = 'NOTIFIED' WHERE notification_id IN (`+placeholders(len(notified))+`)`, notified...); err != nil {
			return err
		}
	}
	return nil
}

// firstTry says whether r is its notification's first attempt, as read,
// and a success: the attempt kept on the notification's row.
func (r AttemptResult) firstTry() bool {
	return r.Notification.Attempts == 0 && r.Status == NotificationDelivered && r.Attempt.Error == ""
}

// writeStatus writes status on the notifications of results that are to
// take it and are still the version read, with their first-try success
// if that is what they had, and adds those written to changed.
func (t *Tx) writeStatus(ctx context.Context, results []AttemptResult, status string, at time.Time, changed map[int64]bool) error {
	cast := func(typ string) string {
		if t.d.name == Postgres {
			return "?::" + typ
		}
		return "?"
	}
	row := "(" + strings.Join([]string{cast("bigint"), cast("timestamptz"), cast("timestamptz"), cast("integer"), cast("integer"), cast("text")}, ", ") + ")"
	var values []string
	var args []any
	var deliveredAt any
	for _, r := range results {
		if r.Status != status {
			continue
		}
		values = append(values, row)
		args = append(args, r.Notification.Seq, r.Notification.UpdatedAt.UTC())
		if a := r.Attempt; r.firstTry() {
			args = append(args, a.At.UTC(), a.StatusCode, a.Latency.Milliseconds(), a.Response)
		} else {
			args = append(args, nil, nil, nil, nil)
		}
		if status == NotificationDelivered {
			deliveredAt = r.Attempt.At.UTC() // one pass: one attempt time
		}
	}
	if len(values) == 0 {
		return nil
	}
	q := `UPDATE notifications SET status = ?, attempts = attempts + 1, updated_at = ?, delivered_at = COALESCE(?, delivered_at),
			first_attempt_at = COALESCE(v.first_at, first_attempt_at), first_status_code = COALESCE(v.code, first_status_code),
			first_latency_ms = COALESCE(v.latency, first_latency_ms), first_response = COALESCE(v.response, first_response)
		FROM (SELECT column1 AS seq, column2 AS read_at, column3 AS first_at, column4 AS code, column5 AS latency, column6 AS response
			FROM (VALUES ` + strings.Join(values, ", ") + `) AS vv) AS v
		WHERE notifications.seq = v.seq AND notifications.updated_at = v.read_at RETURNING notifications.seq`
	if t.d.name == Postgres && deliveredAt == nil {
		deliveredAt = sql.NullTime{}
	}
	written, err := t.int64s(ctx, q, append([]any{status, at, deliveredAt}, args...)...)
	for _, seq := range written {
		changed[seq] = true
	}
	return err
}

// insertAttempts writes attempts rows, in one statement.
func (t *Tx) insertAttempts(ctx context.Context, results []AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	args := make([]any, 0, len(results)*6)
	for _, r := range results {
		a := r.Attempt
		args = append(args, r.Notification.Seq, a.At.UTC(), a.StatusCode, a.Latency.Milliseconds(), a.Error, a.Response)
	}
	_, err := t.exec(ctx, `INSERT INTO attempts (notification_id, at, status_code, latency_ms, error, response) VALUES `+
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", len(results)), ", "), args...)
	return err
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// QueueAll holds a suspended callback's waiting notifications.
func (q queries) QueueAll(ctx context.Context, callbackID int64) error {
	_, err := q.exec(ctx, `UPDATE notifications SET status = 'queued', updated_at = ? WHERE callback_id = ? AND status IN ('created', 'retry')`,
		now(), callbackID)
	return err
}

// Reactivate makes a suspended callback active again and releases its
// queue, in order.
func (q queries) Reactivate(ctx context.Context, callbackID int64) error {
	if _, err := q.exec(ctx, `UPDATE callbacks SET state = 'active', failures = 0, first_failure_at = NULL,
		next_attempt_at = NULL, suspended_at = NULL, last_error = '' WHERE id = ?`, callbackID); err != nil {
		return err
	}
	_, err := q.exec(ctx, `UPDATE notifications SET status = 'created', updated_at = ? WHERE callback_id = ? AND status = 'queued'`,
		now(), callbackID)
	return err
}

// Requeue puts a notification back in its callback's queue with the
// status it is given (a replay), as if it had just arrived.
func (q queries) Requeue(ctx context.Context, n *Notification) error {
	_, err := q.exec(ctx, `UPDATE notifications SET status = ?, updated_at = ? WHERE seq = ?`, n.Status, now(), n.Seq)
	return err
}

// NotificationFilter selects notifications. Zero fields select everything.
type NotificationFilter struct {
	InstanceID    int64
	CallbackID    int64
	CallbackIDs   []int64 // any of these callbacks (with CallbackID, both must hold)
	Status        string
	Statuses      []string // any of these statuses
	ID            string   // the notification id
	CreatedFrom   time.Time
	CreatedBefore time.Time
	AfterSeq      int64
	Limit         int // 1 to MaxNotificationPage; 0 means MaxNotificationPage
}

// MaxNotificationPage is the most notifications one Notifications call
// returns: it is one page, not a cap — callers page on with AfterSeq set to
// the last row's Seq until a page comes back shorter than its limit.
const MaxNotificationPage = 1000

// Notifications lists a page of an organization's notifications, oldest
// first: at most f.Limit (MaxNotificationPage) of them after f.AfterSeq.
func (q queries) Notifications(ctx context.Context, orgID int64, f NotificationFilter) ([]*Notification, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxNotificationPage {
		limit = MaxNotificationPage
	}
	query := `SELECT ` + notificationColumns + ` FROM notifications WHERE org_id = ? AND seq > ?`
	args := []any{orgID, f.AfterSeq}
	if f.InstanceID != 0 {
		query += ` AND instance_id = ?`
		args = append(args, f.InstanceID)
	}
	if f.CallbackID != 0 {
		query += ` AND callback_id = ?`
		args = append(args, f.CallbackID)
	}
	if f.CallbackIDs != nil {
		if len(f.CallbackIDs) == 0 {
			return nil, nil
		}
		query += ` AND callback_id IN (` + placeholders(len(f.CallbackIDs)) + `)`
		for _, id := range f.CallbackIDs {
			args = append(args, id)
		}
	}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Statuses != nil {
		if len(f.Statuses) == 0 {
			return nil, nil
		}
		query += ` AND status IN (` + placeholders(len(f.Statuses)) + `)`
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.ID != "" {
		query += ` AND id = ?`
		args = append(args, f.ID)
	}
	if !f.CreatedFrom.IsZero() {
		query += ` AND created_at >= ?`
		args = append(args, f.CreatedFrom.UTC())
	}
	if !f.CreatedBefore.IsZero() {
		query += ` AND created_at < ?`
		args = append(args, f.CreatedBefore.UTC())
	}
	return q.notifications(ctx, query+` ORDER BY seq LIMIT ?`, append(args, limit)...)
}

// NotificationByID reads one notification of an organization.
func (q queries) NotificationByID(ctx context.Context, orgID int64, id string) (*Notification, error) {
	n, err := scanNotification(q.row(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE org_id = ? AND id = ?`, orgID, id))
	return n, q.d.wrap(err)
}

// Attempts lists a notification's attempts, oldest first: its first-try
// success kept on its row (RecordAttempts), if it had one, then its
// attempts rows. The inline attempt's ID is minus the notification's seq:
// stable (a database copy keeps seqs), never a real attempt's (those are
// positive), and it sorts before them, as it came before them — it is
// only written when no attempt preceded it, and a replay adds rows after
// it.
func (q queries) Attempts(ctx context.Context, notificationSeq int64) ([]Attempt, error) {
	rows, err := q.query(ctx, `SELECT -seq, first_attempt_at, first_status_code, first_latency_ms, '', first_response FROM notifications
			WHERE seq = ? AND first_attempt_at IS NOT NULL
		UNION ALL
		SELECT id, at, status_code, latency_ms, error, response FROM attempts WHERE notification_id = ?
		ORDER BY 1`, notificationSeq, notificationSeq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var ms int64
		if err := rows.Scan(&a.ID, &a.At, &a.StatusCode, &ms, &a.Error, &a.Response); err != nil {
			return nil, q.d.wrap(err)
		}
		a.Latency = time.Duration(ms) * time.Millisecond
		out = append(out, a)
	}
	return out, q.d.wrap(rows.Err())
}

// Gauges are the figures metrics read from the database.
type Gauges struct {
	Pending   map[string]int // undelivered notifications by status
	Suspended int            // suspended callbacks
	QuotaLeft map[string]int // upstream account → requests left (0 while spent)
}

// Gauges reads the current gauges.
func (q queries) Gauges(ctx context.Context, now time.Time) (Gauges, error) {
	g := Gauges{Pending: map[string]int{}, QuotaLeft: map[string]int{}}
	rows, err := q.query(ctx, `SELECT status, COUNT(*) FROM notifications WHERE status <> 'delivered' GROUP BY status`)
	if err != nil {
		return g, err
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return g, q.d.wrap(err)
		}
		g.Pending[s] = n
	}
	rows.Close()
	if err := q.row(ctx, `SELECT COUNT(*) FROM callbacks WHERE state = 'suspended'`).Scan(&g.Suspended); err != nil {
		return g, q.d.wrap(err)
	}
	rows, err = q.query(ctx, `SELECT account, quota_remaining, quota_reset_at FROM accounts`)
	if err != nil {
		return g, err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var left int
		var reset sql.NullTime
		if err := rows.Scan(&a, &left, &reset); err != nil {
			return g, q.d.wrap(err)
		}
		if reset.Valid && reset.Time.After(now) {
			left = 0
		}
		if left >= 0 {
			g.QuotaLeft[a] = left
		}
	}
	return g, q.d.wrap(rows.Err())
}

// CallbacksWithPending lists the callbacks that have notifications to send.
func (q queries) CallbacksWithPending(ctx context.Context) ([]int64, error) {
	return q.int64s(ctx, `SELECT DISTINCT callback_id FROM notifications WHERE status IN ('created', 'retry') ORDER BY callback_id`)
}

// int64s runs a query of one integer column and returns its values.
func (q queries) int64s(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, id)
	}
	return out, q.d.wrap(rows.Err())
}

// DeliverySummary is where a notification's delivery stands: its status
// and its most recent attempt, if it was ever tried.
type DeliverySummary struct {
	Status   string // created, retry, queued, delivered
	Attempts int
	Last     *Attempt // nil: never tried
}

// DeliverySummaries reads, in one query, the delivery state of an
// organization's notifications by id (as Event.NotificationID holds
// them): a page of events' delivery column. Ids of no notification of
// the organization are absent from the map.
func (q queries) DeliverySummaries(ctx context.Context, orgID int64, ids []string) (map[string]DeliverySummary, error) {
	out := map[string]DeliverySummary{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{orgID}
	for _, id := range ids {
		args = append(args, id)
	}
	// The last attempt is the newest attempts row or, when there is none,
	// the first try kept on the notification's row (see Attempts). Both
	// are read and chosen here: SQLite's COALESCE of two times gives text.
	rows, err := q.query(ctx, `SELECT n.id, n.status, n.attempts, n.first_attempt_at, n.first_status_code, n.first_latency_ms,
			a.at, a.status_code, a.latency_ms, a.error
		FROM notifications n LEFT JOIN attempts a ON a.id = (SELECT MAX(l.id) FROM attempts l WHERE l.notification_id = n.seq)
		WHERE n.org_id = ? AND n.id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var d DeliverySummary
		var firstAt, at sql.NullTime
		var firstCode, firstMs int64
		var code, ms sql.NullInt64
		var errText sql.NullString
		if err := rows.Scan(&id, &d.Status, &d.Attempts, &firstAt, &firstCode, &firstMs, &at, &code, &ms, &errText); err != nil {
			return nil, q.d.wrap(err)
		}
		switch {
		case at.Valid:
			d.Last = &Attempt{At: at.Time, StatusCode: int(code.Int64), Latency: time.Duration(ms.Int64) * time.Millisecond,
				Error: errText.String}
		case firstAt.Valid:
			d.Last = &Attempt{At: firstAt.Time, StatusCode: int(firstCode), Latency: time.Duration(firstMs) * time.Millisecond}
		}
		out[id] = d
	}
	return out, q.d.wrap(rows.Err())
}
