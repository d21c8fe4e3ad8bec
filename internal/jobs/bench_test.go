package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/riverqueue/river"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// perNotificationArgs is the rejected design: one River job per
// notification, each with its own retry schedule.
type perNotificationArgs struct {
	Seq int64 `json:"seq"`
}

func (perNotificationArgs) Kind() string { return "deliver_one" }

func benchSetup(b *testing.B, dsn string) (*Engine, *store.Store, *store.Callback, int64, int64) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	e, err := New(ctx, Config{Store: st, Instances: &instance.Service{Store: st}, InsertOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	org := &store.Organization{Name: "o", SecretHash: auth.Hash(dsn + "bo")}
	st.CreateOrganization(ctx, org)
	u := &store.User{OrgID: org.ID, Email: "u@x", SecretHash: auth.Hash(dsn + "bu")}
	st.CreateUser(ctx, u)
	in := &store.Instance{OrgID: org.ID, UserID: u.ID, ElementKey: "insightly", Name: "b", TokenHash: auth.Hash(dsn + "bt"), TokenSealed: "x", Valid: true}
	st.CreateInstance(ctx, in)
	cb, err := st.CallbackFor(ctx, org.ID, "https://example.com/hook")
	if err != nil {
		b.Fatal(err)
	}
	return e, st, cb, org.ID, in.ID
}

// benchEnqueue measures the write path of a poll run that produces 5
// notifications: the outbox with one job per callback (chosen) against
// one River job per notification (rejected).
func benchEnqueue(b *testing.B, dsn string, perNotification bool) {
	e, st, cb, org, inst := benchSetup(b, dsn)
	ctx := context.Background()
	body := []byte(`{"severity":"medium","message":{"events":[{"eventType":"UPDATED"}]}}`)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for range 5 {
				n++
				nt := &store.Notification{ID: fmt.Sprintf("n%d-%t", n, perNotification), OrgID: org, InstanceID: inst,
					CallbackID: cb.ID, Resource: "contacts", Body: body}
				if err := tx.InsertNotification(ctx, nt, nil); err != nil {
					return err
				}
				if perNotification {
					if _, err := e.client.InsertTx(ctx, tx.SQL(), perNotificationArgs{Seq: nt.Seq}, &river.InsertOpts{}); err != nil {
						return err
					}
				}
			}
			if !perNotification {
				return e.Enqueue(ctx, tx, cb.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*5)/b.Elapsed().Seconds(), "notifications/s")
}

func BenchmarkEnqueueOutboxSQLite(b *testing.B) {
	benchEnqueue(b, "sqlite:"+filepath.Join(b.TempDir(), "db"), false)
}

func BenchmarkEnqueueJobPerNotificationSQLite(b *testing.B) {
	benchEnqueue(b, "sqlite:"+filepath.Join(b.TempDir(), "db"), true)
}

func BenchmarkEnqueueOutboxPostgres(b *testing.B) {
	benchEnqueue(b, testdb.FreshSchema(b, testdb.PostgresURL(b)), false)
}

func BenchmarkEnqueueJobPerNotificationPostgres(b *testing.B) {
	benchEnqueue(b, testdb.FreshSchema(b, testdb.PostgresURL(b)), true)
}
