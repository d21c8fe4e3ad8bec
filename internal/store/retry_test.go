package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// A transaction PostgreSQL aborts as a deadlock's victim runs again and
// commits: A locks one row then the other, B the other then the one (as
// River's completer may take an instance's poll jobs in another order).
// A waits first and detects the deadlock first, so A is the victim.
func TestInTxRetryingRunsADeadlocksVictimAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openPostgres(t, testdb.PostgresURL(t))
	one, other := &store.Organization{Name: "one", SecretHash: []byte("one")}, &store.Organization{Name: "other", SecretHash: []byte("other")}
	for _, o := range []*store.Organization{one, other} {
		if err := s.CreateOrganization(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	aHolds, bHolds := make(chan struct{}), make(chan struct{})
	bDone := make(chan error, 1)
	go func() {
		<-aHolds
		tx, err := s.DB().BeginTx(ctx, nil)
		if err != nil {
			bDone <- err
			return
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `UPDATE organizations SET name = 'b' WHERE id = $1`, other.ID); err != nil {
			bDone <- err
			return
		}
		close(bHolds)
		time.Sleep(50 * time.Millisecond) // A is already waiting for this row
		if _, err := tx.ExecContext(ctx, `UPDATE organizations SET name = 'b' WHERE id = $1`, one.ID); err != nil {
			bDone <- err
			return
		}
		bDone <- tx.Commit()
	}()

	attempts := 0
	err := s.InTxRetrying(ctx, func(tx *store.Tx) error {
		attempts++
		q := tx.SQL()
		if _, err := q.ExecContext(ctx, `SET LOCAL deadlock_timeout = '100ms'`); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE organizations SET name = 'a' WHERE id = $1`, one.ID); err != nil {
			return err
		}
		if attempts == 1 {
			close(aHolds)
			<-bHolds
		}
		_, err := q.ExecContext(ctx, `UPDATE organizations SET name = 'a' WHERE id = $1`, other.ID)
		return err
	})
	if err != nil || attempts != 2 {
		t.Fatalf("InTxRetrying: %v after %d attempts, want success on the second", err, attempts)
	}
	if err := <-bDone; err != nil {
		t.Fatalf("the other transaction: %v", err)
	}
	for _, o := range []*store.Organization{one, other} {
		var name string
		if err := s.DB().QueryRowContext(ctx, `SELECT name FROM organizations WHERE id = $1`, o.ID).Scan(&name); err != nil || name != "a" {
			t.Errorf("organization %d: %q %v, want the retried transaction's write, committed last", o.ID, name, err)
		}
	}
}
