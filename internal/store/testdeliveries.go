package store

import (
	"context"
	"time"
)

// TestDelivery is one test notification sent to an instance's callback
// URL: out of band, never in the outbox, and with no effect on the
// callback's state.
type TestDelivery struct {
	ID             int64
	OrgID          int64
	InstanceID     int64
	URL            string
	NotificationID string // the test's Elements-Webhook-Id and webhook-id
	Resource       string // the sample event's objectType
	Body           []byte // the exact bytes sent and signed
	Signature      string // the Elements-Webhook-Signature sent
	At             time.Time
	StatusCode     int // 0: no response
	Latency        time.Duration
	Error          string
	Response       string // the first 2 KB
}

// OK is a 2xx answer.
func (d *TestDelivery) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

const testDeliveryColumns = `id, org_id, instance_id, url, notification_id, resource, body, signature, at, status_code, latency_ms, error, response`

func scanTestDelivery(sc interface{ Scan(...any) error }) (*TestDelivery, error) {
	var d TestDelivery
	var ms int64
	if err := sc.Scan(&d.ID, &d.OrgID, &d.InstanceID, &d.URL, &d.NotificationID, &d.Resource, &d.Body, &d.Signature, &d.At,
		&d.StatusCode, &ms, &d.Error, &d.Response); err != nil {
		return nil, err
	}
	d.Latency = time.Duration(ms) * time.Millisecond
	return &d, nil
}

// InsertTestDelivery records a test notification; it sets d.ID.
func (q queries) InsertTestDelivery(ctx context.Context, d *TestDelivery) error {
	if d.Body == nil {
		d.Body = []byte{}
	}
	return q.d.wrap(q.row(ctx, `INSERT INTO test_deliveries (org_id, instance_id, url, notification_id, resource, body, signature, at,
		status_code, latency_ms, error, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.OrgID, d.InstanceID, d.URL, d.NotificationID, d.Resource, d.Body, d.Signature, d.At.UTC(), d.StatusCode,
		d.Latency.Milliseconds(), d.Error, d.Response).Scan(&d.ID))
}

// TestDeliveryByID reads one test notification of an organization.
func (q queries) TestDeliveryByID(ctx context.Context, orgID, id int64) (*TestDelivery, error) {
	d, err := scanTestDelivery(q.row(ctx, `SELECT `+testDeliveryColumns+` FROM test_deliveries WHERE org_id = ? AND id = ?`, orgID, id))
	return d, q.d.wrap(err)
}

// TestDeliveries lists an instance's most recent test notifications,
// newest first, at most limit (1 to 100; 0 means 20).
func (q queries) TestDeliveries(ctx context.Context, orgID, instanceID int64, limit int) ([]*TestDelivery, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	rows, err := q.query(ctx, `SELECT `+testDeliveryColumns+` FROM test_deliveries WHERE org_id = ? AND instance_id = ?
		ORDER BY id DESC LIMIT ?`, orgID, instanceID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*TestDelivery
	for rows.Next() {
		d, err := scanTestDelivery(rows)
		if err != nil {
			return nil, q.d.wrap(err)
		}
		out = append(out, d)
	}
	return out, q.d.wrap(rows.Err())
}
