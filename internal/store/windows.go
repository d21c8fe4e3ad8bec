package store

import (
	"context"
	"strings"
	"time"
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
// of a run read), by object ID; objects with none are absent.
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
		rows, err := q.query(ctx, `SELECT object_id, updated, hash, created_sent FROM seen
			WHERE instance_id = ? AND resource = ? AND object_id IN (`+strings.TrimSuffix(strings.Repeat("?,", n), ",")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var s Seen
			if err := rows.Scan(&id, &s.Updated, &s.Hash, &s.CreatedSent); err != nil {
				rows.Close()
				return nil, q.d.wrap(err)
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
