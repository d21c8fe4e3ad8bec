package store

import "context"

// LockOrganization makes the transaction the only one working on the
// organization's instance count until it ends, so that a count read after
// it stays true until the commit: two creates cannot both pass a limit.
// On PostgreSQL it locks the organization's row (FOR NO KEY UPDATE, so
// that plain instance writes, which take only a key-share lock on it, are
// not held up); SQLite's write transactions already exclude each other
// (they begin IMMEDIATE). ErrNotFound when there is no such organization.
func (q queries) LockOrganization(ctx context.Context, orgID int64) error {
	query := `SELECT id FROM organizations WHERE id = ?`
	if q.d.name == Postgres {
		query += ` FOR NO KEY UPDATE`
	}
	var id int64
	return q.d.wrap(q.row(ctx, query, orgID).Scan(&id))
}

// CountInstances counts an organization's instances.
func (q queries) CountInstances(ctx context.Context, orgID int64) (int, error) {
	var n int
	err := q.row(ctx, `SELECT COUNT(*) FROM instances WHERE org_id = ?`, orgID).Scan(&n)
	return n, q.d.wrap(err)
}

// InstancesWithLongConfigValue lists, in ID order, the instances whose
// value of key is longer than n characters: a cheap way to find values
// stored before a bound on them existed.
func (q queries) InstancesWithLongConfigValue(ctx context.Context, key string, n int) ([]int64, error) {
	rows, err := q.query(ctx, `SELECT instance_id FROM instance_config WHERE key = ? AND length(value) > ? ORDER BY instance_id`, key, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, q.d.wrap(err)
		}
		ids = append(ids, id)
	}
	return ids, q.d.wrap(rows.Err())
}
