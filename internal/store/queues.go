package store

import (
	"context"
	"time"
)

// CallbackQueue is what waits for one callback.
type CallbackQueue struct {
	// Waiting counts the notifications not delivered yet: new, retrying,
	// or held while the callback is suspended.
	Waiting int
	// Oldest is when the oldest of them was created (zero when none).
	Oldest time.Time
}

// CallbackQueues is, for each of the organization's callbacks that has
// notifications waiting, its queue.
func (q queries) CallbackQueues(ctx context.Context, orgID int64) (map[int64]CallbackQueue, error) {
	rows, err := q.query(ctx, `SELECT callback_id, COUNT(*) FROM notifications
		WHERE org_id = ? AND status IN ('created', 'retry', 'queued') GROUP BY callback_id`, orgID)
	if err != nil {
		return nil, err
	}
	out := map[int64]CallbackQueue{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, q.d.wrap(err)
		}
		out[id] = CallbackQueue{Waiting: n}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(err)
	}
	for id, cq := range out {
		// The oldest waiting notification is the head of the queue (seq
		// order is creation order).
		if err := q.row(ctx, `SELECT created_at FROM notifications WHERE callback_id = ? AND status IN ('created', 'retry', 'queued')
			ORDER BY seq LIMIT 1`, id).Scan(&cq.Oldest); err != nil {
			return nil, q.d.wrap(err)
		}
		out[id] = cq
	}
	return out, nil
}
