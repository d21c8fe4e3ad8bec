package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// The SQLite driver parses and plans every statement again each time it
// runs: at an idle poll's few statements (ours and River's, through the
// same pool) that was a third of its CPU time. stmtCacheConnector gives
// each connection a cache of its prepared statements by their text, so a
// statement is planned once per connection. (pgx caches prepared
// statements itself; PostgreSQL does not need this.)

// stmtCacheSize bounds each connection's cache: pollhook and River run a
// few dozen distinct statements; the rest (generated IN lists of varying
// length, migrations) come and go.
const stmtCacheSize = 256

// stmtCacheConnector wraps a connector whose connections have what the
// store relies on (conn).
type stmtCacheConnector struct{ driver.Connector }

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	full, err := connect(ctx, c.Connector)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{wrappedConn: wrappedConn{full}, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

// stmtCacheConn is one connection with its statements. database/sql uses
// a connection from one goroutine at a time, so the cache needs no lock;
// but a transaction may run a statement again while rows of its earlier
// run are still open, so a statement in use is never handed out twice:
// the second use prepares one of its own, closed after.
type stmtCacheConn struct {
	wrappedConn
	byQuery map[string]*list.Element // of *cachedStmt
	lru     *list.List               // most recently used first
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool // its rows are open
}

// The interfaces database/sql looks for, passed through.
var (
	_ conn                                  = (*stmtCacheConn)(nil)
	_ driver.Validator                      = (*stmtCacheConn)(nil)
	_ driver.NamedValueChecker              = (*stmtCacheConn)(nil)
	_ driver.RowsNextResultSet              = (*releasingRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*releasingRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*releasingRows)(nil)
)

// errNotSupported: the wrapped statement or rows lack what was asked for.
var errNotSupported = errors.New("store: the database driver does not support this")

func (c *stmtCacheConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.byQuery, c.lru = nil, list.New()
	return c.conn.Close()
}

// take returns the cached statement for query, preparing it if needed,
// and marks it busy; or, when it is busy, a statement of its own.
func (c *stmtCacheConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byQuery[query]; ok {
		cs := e.Value.(*cachedStmt)
		if !cs.busy {
			c.lru.MoveToFront(e)
			cs.busy = true
			return cs, nil
		}
		stmt, err := c.conn.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		return &cachedStmt{query: query, stmt: stmt, busy: true}, nil
	}
	stmt, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: stmt, busy: true}
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Back()
		oc := old.Value.(*cachedStmt)
		if oc.busy {
			break // in use: it goes when it is next evicted
		}
		c.lru.Remove(old)
		delete(c.byQuery, oc.query)
		oc.stmt.Close()
	}
	return cs, nil
}

// give hands a statement back after use: a cached one stays prepared, an
// extra one (taken while the cached one was busy) is closed.
func (c *stmtCacheConn) give(cs *cachedStmt) {
	cs.busy = false
	if e, ok := c.byQuery[cs.query]; !ok || e.Value.(*cachedStmt) != cs {
		cs.stmt.Close()
	}
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	defer c.give(cs)
	ex, ok := cs.stmt.(driver.StmtExecContext)
	if !ok {
		return nil, errNotSupported
	}
	return ex.ExecContext(ctx, args)
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	q, ok := cs.stmt.(driver.StmtQueryContext)
	if !ok {
		c.give(cs)
		return nil, errNotSupported
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		c.give(cs)
		return nil, err
	}
	return &releasingRows{Rows: rows, done: func() { c.give(cs) }}, nil
}

// releasingRows gives its statement back when closed.
type releasingRows struct {
	driver.Rows
	done func()
}

func (r *releasingRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

func (r *releasingRows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *releasingRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return errNotSupported
}

func (r *releasingRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *releasingRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
