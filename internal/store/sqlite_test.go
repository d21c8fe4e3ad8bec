package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/store/storetest"
)

func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "pollhook.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}

// Several processes opening one file at once must each find the schema
// complete, migrated once.
func TestSQLiteConcurrentOpen(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			if _, err := s.CountOrganizations(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"", "mysql://x", "sqlite:", "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=1"} {
		_, err := store.Open(context.Background(), dsn)
		if err == nil {
			t.Errorf("%q opened", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

// A table the copy does not know stops the copy before anything is
// written: a migration that adds one must say how it is copied.
func TestCopyRefusesUnknownTables(t *testing.T) {
	t.Parallel()
	src, dst := openSQLite(t), openSQLite(t)
	if _, err := dst.DB().Exec(`CREATE TABLE extra (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	err := store.Copy(context.Background(), src, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "table extra is not in the copy list") {
		t.Fatalf("copy: %v", err)
	}
	// Without it, an empty database copies.
	if err := store.Copy(context.Background(), src, openSQLite(t), nil); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCounting compares a statement on the store's counted pool with
// the same statement on a plain pool of the same file: the counter is one
// atomic add per statement, lost in the statement's own cost.
func BenchmarkCounting(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "pollhook.db")
	s, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	plain, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	for _, db := range []struct {
		name string
		db   *sql.DB
	}{{"plain", plain}, {"counted", s.DB()}} {
		b.Run(db.name, func(b *testing.B) {
			for b.Loop() {
				var n int
				if err := db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
