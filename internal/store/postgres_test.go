package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/store/storetest"
	"github.com/pollhook/pollhook/internal/testdb"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	base := testdb.PostgresURL(t)
	storetest.Run(t, func(t *testing.T) *store.Store { return openPostgres(t, base) })
}

// openPostgres opens a store on a fresh schema of the PostgreSQL server
// at base, closed when the test ends.
func openPostgres(t *testing.T, base string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), testdb.FreshSchema(t, base))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Replicas starting together queue on the migration lock.
func TestPostgresConcurrentOpen(t *testing.T) {
	t.Parallel()
	dsn := testdb.FreshSchema(t, testdb.PostgresURL(t))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			if v, err := s.SchemaVersion(context.Background()); err != nil || v < 1 {
				t.Errorf("version %d %v", v, err)
			}
		})
	}
	wg.Wait()
}

// The counting wrapper keeps pgx's own argument handling
// (NamedValueChecker): a Go slice binds to a PostgreSQL array, which
// database/sql's default conversion rejects.
func TestPostgresCountingKeepsPgxArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openPostgres(t, testdb.PostgresURL(t))
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT cardinality($1::bigint[])`, []int64{1, 2, 3}).Scan(&n); err != nil || n != 3 {
		t.Fatalf("a []int64 argument: %d, %v", n, err)
	}
}
