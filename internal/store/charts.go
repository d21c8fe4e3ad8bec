package store

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The console's charts: counts and latency percentiles per hour (UTC) of
// one organization, or of one of its instances, over a time range
// [since, until). Hours without data are absent from the results; the
// chart fills them. Every query is bounded by its range through an index
// (migration 0011): events by (org_id, created_at) or (instance_id,
// created_at), attempts by at, first-try successes by
// (org_id, first_attempt_at) (migration 0018).

// HourCount is a count in one hour, of one type: an event type (CREATED,
// UPDATED, DELETED) or a kind of failure (FailureNoResponse, ...).
type HourCount struct {
	Hour  time.Time // the hour's start, UTC
	Type  string
	Count int
}

// HourLatency is the latency of the successful delivery attempts (2xx)
// of one hour: how many there were, and their 50th and 99th percentiles,
// approximate as LatencyBucket describes.
type HourLatency struct {
	Hour     time.Time // the hour's start, UTC
	Count    int
	P50, P99 time.Duration
}

// Kinds of failed attempts, HourCount.Type in FailuresPerHour.
const (
	FailureNoResponse = "no response" // timeout, connection refused, blocked address: status 0
	Failure4xx        = "4xx"
	Failure5xx        = "5xx"
	FailureOther      = "other" // 1xx, 3xx: a response the receiver should not send
)

// hour is the SQL expression for the start of col's hour in UTC, as text
// "2006-01-02 15". SQLite stores times as text, written in UTC by the
// store ("2006-01-02 15:04:05.999999999+00:00"): its first 13 characters.
func (d dialect) hour(col string) string {
	if d.name == Postgres {
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
	}
	return "substr(" + col + ", 1, 13)"
}

const hourLayout = "2006-01-02 15"

func parseHour(s string) (time.Time, error) {
	return time.ParseInLocation(hourLayout, s, time.UTC)
}

// EventsPerHour counts an organization's events per hour of their
// recording (created_at) and type, for one instance or, with instanceID
// 0, all of them. Ordered by hour, then type.
func (q queries) EventsPerHour(ctx context.Context, orgID, instanceID int64, since, until time.Time) ([]HourCount, error) {
	query, args := q.d.eventsPerHour(orgID, instanceID, since, until)
	return q.hourCounts(ctx, query, args...)
}

func (d dialect) eventsPerHour(orgID, instanceID int64, since, until time.Time) (string, []any) {
	query := `SELECT ` + d.hour("created_at") + ` AS h, event_type, COUNT(*) FROM events
		WHERE org_id = ? AND created_at >= ? AND created_at < ?`
	args := []any{orgID, since.UTC(), until.UTC()}
	if instanceID != 0 {
		query += ` AND instance_id = ?`
		args = append(args, instanceID)
	}
	return query + ` GROUP BY 1, 2 ORDER BY 1, 2`, args
}

// attemptsOf is the FROM of the attempts of an organization (or one
// instance) made in [since, until), as a table a (at, status_code,
// latency_ms, error), with its arguments: the attempts rows, and the
// first-try successes kept on their notifications' rows (RecordAttempts),
// which are most deliveries. The rows' range is read through attempts_at
// and each attempt's notification by its key: never the other way round,
// which would read all of an instance's notifications
// (notifications_instance) whatever the range. The inline attempts' range
// is read through notifications_first_attempt. SQLite joins a CROSS JOIN
// in the order written; the unary plus keeps either database from
// reaching the notifications by instance_id.
func attemptsOf(orgID, instanceID int64, since, until time.Time) (string, []any) {
	instance := ""
	if instanceID != 0 {
		instance = ` AND +n.instance_id = ?`
	}
	query := ` FROM (SELECT a.at AS at, a.status_code AS status_code, a.latency_ms AS latency_ms, a.error AS error
			FROM attempts a CROSS JOIN notifications n
			WHERE n.seq = a.notification_id AND a.at >= ? AND a.at < ? AND n.org_id = ?` + instance + `
		UNION ALL
		SELECT n.first_attempt_at, n.first_status_code, n.first_latency_ms, '' FROM notifications n
			WHERE n.org_id = ? AND n.first_attempt_at >= ? AND n.first_attempt_at < ?` + instance + `) AS a`
	args := []any{since.UTC(), until.UTC(), orgID}
	if instanceID != 0 {
		args = append(args, instanceID)
	}
	args = append(args, orgID, since.UTC(), until.UTC())
	if instanceID != 0 {
		args = append(args, instanceID)
	}
	return query, args
}

// An attempt succeeded when the receiver answered 2xx (a transport error
// comes without a status; it is checked all the same).
const attemptOK = `(a.status_code BETWEEN 200 AND 299 AND a.error = '')`

// FailuresPerHour counts an organization's (or one instance's) failed
// delivery attempts per hour and kind: FailureNoResponse, Failure4xx,
// Failure5xx, FailureOther. Ordered by hour, then kind.
func (q queries) FailuresPerHour(ctx context.Context, orgID, instanceID int64, since, until time.Time) ([]HourCount, error) {
	query, args := q.d.failuresPerHour(orgID, instanceID, since, until)
	return q.hourCounts(ctx, query, args...)
}

func (d dialect) failuresPerHour(orgID, instanceID int64, since, until time.Time) (string, []any) {
	from, args := attemptsOf(orgID, instanceID, since, until)
	query := `SELECT ` + d.hour("a.at") + ` AS h,
		CASE WHEN a.status_code = 0 THEN '` + FailureNoResponse + `'
			WHEN a.status_code BETWEEN 400 AND 499 THEN '` + Failure4xx + `'
			WHEN a.status_code BETWEEN 500 AND 599 THEN '` + Failure5xx + `'
			ELSE '` + FailureOther + `' END AS kind,
		COUNT(*)` + from + ` WHERE NOT ` + attemptOK + ` GROUP BY 1, 2 ORDER BY 1, 2`
	return query, args
}

func (q queries) hourCounts(ctx context.Context, query string, args ...any) ([]HourCount, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HourCount
	for rows.Next() {
		var h string
		var c HourCount
		if err := rows.Scan(&h, &c.Type, &c.Count); err != nil {
			return nil, q.d.wrap(err)
		}
		if c.Hour, err = parseHour(h); err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, c)
	}
	return out, q.d.wrap(rows.Err())
}

// latencyBounds are the upper bounds (exclusive, in milliseconds) of the
// latency histogram's buckets: 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25,
// 30, 40, 50, 60, 80, 100, ... 80000; a last bucket holds the rest. Each
// is at most a third wider than its lower bound from 10 ms on.
var latencyBounds = func() []int64 {
	var out []int64
	for scale := int64(1); scale <= 10000; scale *= 10 {
		for _, m := range []int64{10, 12, 15, 20, 25, 30, 40, 50, 60, 80} {
			b := m * scale / 10
			if len(out) == 0 || b > out[len(out)-1] {
				out = append(out, b)
			}
		}
	}
	return out
}()

// latencyBucket is the bucket of a latency in milliseconds.
func latencyBucket(ms int64) int {
	i, _ := slices.BinarySearchFunc(latencyBounds, ms, func(b, ms int64) int {
		if b <= ms {
			return -1
		}
		return 1
	})
	return i
}

// LatencyBucket is the histogram bucket [lo, hi) that holds latency d.
// DeliveryLatency's percentiles are computed in the database from a
// histogram of these buckets per hour, each with the count, the least
// and the greatest latency it holds: the bucket holding the percentile's
// rank is exact, the value within it is interpolated between its least
// and greatest latency by rank. A percentile is therefore exact when its
// bucket holds a single latency or its rank is the bucket's first or
// last, and otherwise off by less than the bucket's width (at most a
// third of the value from 10 ms on) and always within [lo, hi) of the exact
// value's bucket. The last bucket's hi is math.MaxInt64.
func LatencyBucket(d time.Duration) (lo, hi time.Duration) {
	i := latencyBucket(d.Milliseconds())
	hi = math.MaxInt64
	if i < len(latencyBounds) {
		hi = time.Duration(latencyBounds[i]) * time.Millisecond
	}
	if i > 0 {
		lo = time.Duration(latencyBounds[i-1]) * time.Millisecond
	}
	return lo, hi
}

// bucketSQL is the CASE expression of an attempt's latency bucket.
var bucketSQL = func() string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, bound := range latencyBounds {
		b.WriteString(" WHEN a.latency_ms < " + strconv.FormatInt(bound, 10) + " THEN " + strconv.Itoa(i))
	}
	b.WriteString(" ELSE " + strconv.Itoa(len(latencyBounds)) + " END")
	return b.String()
}()

// DeliveryLatency is, per hour, the number of an organization's (or one
// instance's) successful delivery attempts (2xx) and their latency's
// 50th and 99th percentiles (nearest rank), approximate within a
// histogram bucket as LatencyBucket describes: the database returns at
// most one row per hour and bucket, never every attempt. Ordered by hour.
func (q queries) DeliveryLatency(ctx context.Context, orgID, instanceID int64, since, until time.Time) ([]HourLatency, error) {
	query, args := q.d.deliveryLatency(orgID, instanceID, since, until)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HourLatency
	var hist []bucket
	flush := func(h time.Time) {
		if len(hist) > 0 {
			out = append(out, percentiles(h, hist))
		}
		hist = hist[:0]
	}
	var cur time.Time
	for rows.Next() {
		var h string
		var b bucket
		var index int
		if err := rows.Scan(&h, &index, &b.count, &b.min, &b.max); err != nil {
			return nil, q.d.wrap(err)
		}
		hour, err := parseHour(h)
		if err != nil {
			return nil, q.d.wrap(err)
		}
		if !hour.Equal(cur) {
			flush(cur)
			cur = hour
		}
		hist = append(hist, b)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(err)
	}
	flush(cur)
	return out, nil
}

func (d dialect) deliveryLatency(orgID, instanceID int64, since, until time.Time) (string, []any) {
	from, args := attemptsOf(orgID, instanceID, since, until)
	return `SELECT ` + d.hour("a.at") + ` AS h, ` + bucketSQL + ` AS bucket,
		COUNT(*), MIN(a.latency_ms), MAX(a.latency_ms)` + from + ` WHERE ` + attemptOK + `
		GROUP BY 1, 2 ORDER BY 1, 2`, args
}

// bucket is one row of the latency histogram, in milliseconds.
type bucket struct {
	count    int
	min, max int64
}

// percentiles reads an hour's histogram, its buckets in order.
func percentiles(hour time.Time, hist []bucket) HourLatency {
	l := HourLatency{Hour: hour}
	for _, b := range hist {
		l.Count += b.count
	}
	l.P50 = percentile(hist, l.Count, 0.50)
	l.P99 = percentile(hist, l.Count, 0.99)
	return l
}

// percentile is the nearest-rank percentile p of n latencies: the
// bucket holding rank ceil(p*n), and within it the value interpolated
// linearly between the bucket's least and greatest latency by rank.
func percentile(hist []bucket, n int, p float64) time.Duration {
	rank := max(1, int(math.Ceil(p*float64(n))))
	seen := 0
	for _, b := range hist {
		if seen+b.count < rank {
			seen += b.count
			continue
		}
		ms := float64(b.min)
		if k := rank - seen; b.count > 1 {
			ms += float64(b.max-b.min) * float64(k-1) / float64(b.count-1)
		}
		return time.Duration(math.Round(ms * float64(time.Millisecond)))
	}
	return 0
}
