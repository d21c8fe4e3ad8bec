// Package testdb gives tests a real PostgreSQL database: CI always has
// one; elsewhere the tests that need it skip with a clear message.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// DefaultURL is the server this project's machines and CI run.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the test server's URL (POLLHOOK_TEST_POSTGRES, else
// DefaultURL). When it cannot be reached the test fails under CI and
// skips elsewhere.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("POLLHOOK_TEST_POSTGRES")
	if u == "" {
		u = DefaultURL
	}
	db, err := sql.Open("pgx", u)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s is required in CI: %v", u, err)
		}
		t.Skipf("PostgreSQL not reachable at %s (set POLLHOOK_TEST_POSTGRES): %v", u, err)
	}
	return u
}

// FreshSchema creates an empty schema for one test, dropped when it ends,
// and returns base with its search_path set to it, so tests run in
// parallel without seeing each other's tables.
func FreshSchema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
