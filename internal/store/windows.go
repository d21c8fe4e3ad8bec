package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Window is the window a poll's run is working through: committed page
// by page, so that a crash or a timeout resumes it where it stopped rather
// than from the start, and a run's memory is one page, not the window.
type Window struct {
	From    time.Time // the scan reads records updated after it
	Compare time.Time // records updated at or before it are not reported
	Normal  time.Time // reported records updated at or before it are marked backfill
	Start   time.Time // the upstream's clock at the window's first answer: the next cursor
	RunAt   time.Time // our clock when the window began (URL templates' ${now…})
	// Position is the element's opaque resume position after the last
	// committed page ("" before the first).
	Position string
	Backfill bool // the window serves a backfill request
	// Running totals of the window, for the run statistics.
	Pages, Records, Created, Updated int
}

// SeenFor reads the per-record state of the given objects (those a page
// of a run read), by object ID; objects with none are absent. It is an
// index probe per object once the database has statistics of the table
// (see AnalyzeState).
func (q queries) SeenFor(ctx context.Context, instanceID int64, resource string, ids []string) (map[string]Seen, error) {
	out := make(map[string]Seen, len(ids))
	const batch = 500
	for len(ids) > 0 {
		n := min(len(ids), batch)
		args := make([]any, 0, n+2)
		args = append(args, instanceID, resource)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		rows, err := q.query(ctx, `SELECT object_id, updated, hash, created_sent, snapshot FROM seen
			WHERE instance_id = ? AND resource = ? AND object_id IN (`+placeholders(n)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var s Seen
			var snap []byte
			if err := rows.Scan(&id, &s.Updated, &s.Hash, &s.CreatedSent, &snap); err != nil {
				rows.Close()
				return nil, q.d.wrap(err)
			}
			if s.Snapshot, err = inflate(snap); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, q.d.wrap(err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// analyzeEvery is how many per-record states this process writes between
// two refreshes of the table's statistics on PostgreSQL.
const analyzeEvery = 20_000

// StateWritten counts per-record states written, and on PostgreSQL
// refreshes the table's statistics every analyzeEvery of them. Without
// statistics (a fresh table, autovacuum off or behind) the planner reads
// SeenFor's condition as "a few rows of this poll" and scans every row
// of the poll's state for each page: 1.7 s a page at 100,000 records,
// 5 ms with statistics; a 200,000-record backfill took 13 minutes
// instead of 4 (pollhook bench state, bench backfill).
func (s *Store) StateWritten(ctx context.Context, n int) error {
	if s.Dialect() != Postgres || n <= 0 {
		return nil
	}
	total := s.stateWrites.Add(int64(n))
	if total/analyzeEvery == (total-int64(n))/analyzeEvery {
		return nil
	}
	return s.Analyze(ctx, "seen")
}

// Analyze refreshes PostgreSQL's statistics of tables (nothing on SQLite,
// whose planner needs none of this): for tables whose plans go wrong
// without them and that autovacuum may not have reached (it is off on
// some servers, and behind on others during a bulk import).
func (s *Store) Analyze(ctx context.Context, tables ...string) error {
	if s.Dialect() != Postgres {
		return nil
	}
	for _, t := range tables {
		if _, err := s.db.ExecContext(ctx, `ANALYZE `+pgx.Identifier{t}.Sanitize()); err != nil {
			return err
		}
	}
	return nil
}

// putSeen writes per-record state, in object ID order (index pages fill
// in order) and many rows a statement.
func (t *Tx) putSeen(ctx context.Context, instanceID int64, resource string, seen map[string]Seen) error {
	return t.upsertSeen(ctx, instanceID, resource, seen, `updated = excluded.updated,
		hash = excluded.hash, created_sent = excluded.created_sent, snapshot = excluded.snapshot`)
}

// upsertSeen writes per-record states, 100 to a statement, in object
// order; set says what an existing row takes from the new one.
func (t *Tx) upsertSeen(ctx context.Context, instanceID int64, resource string, seen map[string]Seen, set string) error {
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	const batch = 100
	for len(ids) > 0 {
		n := min(len(ids), batch)
		args := make([]any, 0, 7*n)
		for _, id := range ids[:n] {
			s := seen[id]
			snap, err := deflate(s.Snapshot)
			if err != nil {
				return err
			}
			args = append(args, instanceID, resource, id, s.Updated.UTC(), s.Hash, t.d.bool(s.CreatedSent), snap)
		}
		if _, err := t.exec(ctx, `INSERT INTO seen (instance_id, resource, object_id, updated, hash, created_sent, snapshot)
			VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?),", n), ",")+`
			ON CONFLICT (instance_id, resource, object_id) DO UPDATE SET `+set, args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// PutSnapshots sets records' last observed versions (nil: none) without
// touching what was reported of them: a record with no state yet gets one
// that reports nothing (NoHash). A baseline scan writes them.
func (t *Tx) PutSnapshots(ctx context.Context, instanceID int64, resource string, snaps map[string][]byte) error {
	seen := make(map[string]Seen, len(snaps))
	for id, snap := range snaps {
		seen[id] = Seen{Hash: NoHash, Snapshot: snap}
	}
	return t.upsertSeen(ctx, instanceID, resource, seen, `snapshot = excluded.snapshot`)
}

// DropSnapshots forgets a resource's record snapshots and its baseline:
// snapshots were turned off. What was reported of the records stays.
func (q queries) DropSnapshots(ctx context.Context, instanceID int64, resource string) error {
	if _, err := q.exec(ctx, `UPDATE seen SET snapshot = NULL WHERE instance_id = ? AND resource = ? AND snapshot IS NOT NULL`,
		instanceID, resource); err != nil {
		return err
	}
	_, err := q.exec(ctx, `UPDATE polls SET baseline_at = NULL WHERE instance_id = ? AND resource = ? AND baseline_at IS NOT NULL`,
		instanceID, resource)
	return err
}
