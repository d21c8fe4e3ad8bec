package store

import "context"

// The job engine (River) keeps its jobs in the table river_job of the same
// database and schema. The store does not know River; it knows that
// table's columns (id, kind, state, args as JSON) well enough to find, in
// one query, what the engine's reconciliation must repair, instead of the
// engine asking River about every poll one at a time.

// liveJobStates are the states in which a job will still run: the ones
// the engine's unique jobs count as existing (jobs.uniqueStates).
const liveJobStates = `('available', 'pending', 'running', 'scheduled', 'retryable')`

// PollJob is a poll as reconciliation sees it: which job it records.
type PollJob struct {
	InstanceID int64
	Resource   string
	JobID      int64 // 0: none recorded
}

// PollsWithoutLiveJob lists the polls whose recorded job is not a live
// poll job of theirs: none recorded, deleted, finalized (completed,
// cancelled, discarded), or one whose arguments name another poll (a
// database restored without the engine's tables reuses job ids).
func (q queries) PollsWithoutLiveJob(ctx context.Context) ([]PollJob, error) {
	rows, err := q.query(ctx, `SELECT p.instance_id, p.resource, COALESCE(p.job_id, 0) FROM polls p
		WHERE NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = p.job_id AND j.kind = 'poll'
			AND j.state IN `+liveJobStates+`
			AND CAST(j.args->>'instance_id' AS BIGINT) = p.instance_id AND j.args->>'resource' = p.resource)
		ORDER BY p.instance_id, p.resource`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PollJob
	for rows.Next() {
		var p PollJob
		if err := rows.Scan(&p.InstanceID, &p.Resource, &p.JobID); err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, p)
	}
	return out, q.d.wrap(rows.Err())
}

// CallbacksWithoutLiveDelivery lists the callbacks that have notifications
// to send and no live delivery job. The live jobs' callbacks are read
// once, as a set, rather than searched for each callback.
func (q queries) CallbacksWithoutLiveDelivery(ctx context.Context) ([]int64, error) {
	return q.int64s(ctx, `SELECT c.callback_id
		FROM (SELECT DISTINCT callback_id FROM notifications WHERE status IN ('created', 'retry')) c
		LEFT JOIN (SELECT DISTINCT CAST(args->>'callback_id' AS BIGINT) AS callback_id FROM river_job
			WHERE kind = 'deliver' AND state IN `+liveJobStates+`) j ON j.callback_id = c.callback_id
		WHERE j.callback_id IS NULL
		ORDER BY c.callback_id`)
}
