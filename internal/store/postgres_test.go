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
	storetest.Run(t, func(t *testing.T) *store.Store {
		s, err := store.Open(context.Background(), testdb.FreshSchema(t, base))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
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
