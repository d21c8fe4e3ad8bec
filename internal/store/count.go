package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
)

// Counts are the statements and transactions that reached the database
// through a store's pool since it opened: the store's own, River's (which
// shares the pool) and those of callers of DB(). Tests and benches read
// them to assert what a piece of work costs in round trips rather than in
// time, which a shared machine makes noisy.
type Counts struct {
	// Statements executed: Exec and Query on a connection, and runs of
	// prepared statements (preparing one is not counted).
	Statements int64
	// Transactions begun, whether they commit or roll back.
	Transactions int64
}

// Sub is what happened between reading o and reading c.
func (c Counts) Sub(o Counts) Counts {
	return Counts{Statements: c.Statements - o.Statements, Transactions: c.Transactions - o.Transactions}
}

// Counts reads the store's counters.
func (s *Store) Counts() Counts {
	return Counts{Statements: s.counter.statements.Load(), Transactions: s.counter.transactions.Load()}
}

// counter is shared by a pool's connections: one atomic add per
// statement or transaction, cheap enough to be always on.
type counter struct{ statements, transactions atomic.Int64 }

// countingConnector opens the driver's connections wrapped in a
// countingConn. database/sql sees it in place of the driver's connector.
type countingConnector struct {
	driver.Connector
	n *counter
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	full, err := connect(ctx, c.Connector)
	if err != nil {
		return nil, err
	}
	return &countingConn{wrappedConn: wrappedConn{full}, n: c.n}, nil
}

// countingConn counts what runs on a driver connection, forwarding every
// interface database/sql looks for.
type countingConn struct {
	wrappedConn
	n *counter
}

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	ds, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	full, ok := ds.(stmt)
	if !ok {
		ds.Close()
		return nil, fmt.Errorf("store: the %T statement lacks context methods", ds)
	}
	return &countingStmt{stmt: full, n: c.n}, nil
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.conn.BeginTx(ctx, opts)
	if err == nil {
		c.n.transactions.Add(1)
	}
	return tx, err
}

// ExecContext counts unless the driver declines (ErrSkip): database/sql
// then prepares the statement, and its run is counted there.
func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.conn.ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.n.statements.Add(1)
	}
	return res, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.conn.QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.n.statements.Add(1)
	}
	return rows, err
}

// countingStmt counts a prepared statement's runs. It does not implement
// NamedValueChecker, so database/sql asks the connection's (neither
// driver has one on statements).
type countingStmt struct {
	stmt
	n *counter
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.statements.Add(1)
	return s.stmt.ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.statements.Add(1)
	return s.stmt.QueryContext(ctx, args)
}
