package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// preparesCounted counts the statements the real SQLite driver prepares
// under the cache.
type preparesCounted struct {
	driver.Connector
	n *atomic.Int64
}

func (c preparesCounted) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return preparesConn{dc.(conn), c.n}, nil
}

type preparesConn struct {
	conn // what the store relies on; modernc's connection has it
	n    *atomic.Int64
}

func (c preparesConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.conn.PrepareContext(ctx, query)
}

func openCached(t *testing.T) (*sql.DB, *atomic.Int64) {
	t.Helper()
	base, err := sqlite.NewConnector("file:" + filepath.Join(t.TempDir(), "db") + "?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	db := sql.OpenDB(stmtCacheConnector{preparesCounted{base, &n}})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	return db, &n
}

// A statement run again on a connection is prepared once.
func TestStmtCachePreparesOnce(t *testing.T) {
	t.Parallel()
	db, prepared := openCached(t)
	before := prepared.Load()
	for i := range 50 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRow(`SELECT v FROM t WHERE id = ?`, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("row %d: %q %v", i, v, err)
		}
	}
	if n := prepared.Load() - before; n != 2 {
		t.Errorf("100 runs of 2 statements prepared %d statements, want 2", n)
	}
}

// A statement run again while the rows of its earlier run are open (in
// one transaction, so on one connection) gets a statement of its own;
// both give the right rows, and the cache goes on working.
func TestStmtCacheStatementInUse(t *testing.T) {
	t.Parallel()
	db, prepared := openCached(t)
	for i := range 5 {
		db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, fmt.Sprint("v", i))
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	const q = `SELECT id, v FROM t WHERE id >= ? ORDER BY id`
	outer, err := tx.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var id int
		var v string
		outer.Scan(&id, &v)
		inner, err := tx.Query(q, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		inner.Close()
		pairs = append(pairs, fmt.Sprintf("%s:%d", v, n))
		if _, err := tx.Exec(`INSERT INTO u (id) VALUES (?)`, id); err != nil {
			t.Fatal(err)
		}
	}
	outer.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pairs) != "[v0:5 v1:4 v2:3 v3:2 v4:1]" {
		t.Errorf("nested runs of one statement read %v", pairs)
	}
	before := prepared.Load()
	var count int
	if err := db.QueryRow(`SELECT COUNT(*) FROM u`).Scan(&count); err != nil || count != 5 {
		t.Errorf("u has %d rows, %v", count, err)
	}
	rows, _ := db.Query(q, 3)
	rows.Close()
	if n := prepared.Load() - before; n != 1 {
		t.Errorf("after the nested runs, %d statements prepared, want 1 (the count; the query is cached)", n)
	}
}

// More distinct statements than the cache holds: the oldest are closed
// and prepared again when they come back, and results stay right.
func TestStmtCacheEvicts(t *testing.T) {
	t.Parallel()
	db, prepared := openCached(t)
	db.Exec(`INSERT INTO t (id, v) VALUES (1, 'one')`)
	query := func(i int) string { return fmt.Sprintf("SELECT v || '%d' FROM t WHERE id = ?", i) }
	for i := range stmtCacheSize + 10 {
		var v string
		if err := db.QueryRow(query(i), 1).Scan(&v); err != nil || v != fmt.Sprint("one", i) {
			t.Fatalf("query %d: %q %v", i, v, err)
		}
	}
	before := prepared.Load()
	var v string
	db.QueryRow(query(stmtCacheSize+9), 1).Scan(&v) // recent: cached
	db.QueryRow(query(0), 1).Scan(&v)               // evicted: prepared again
	if n := prepared.Load() - before; n != 1 || v != "one0" {
		t.Errorf("after eviction: %d prepared, %q", n, v)
	}
}
