package store

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// The store wraps the drivers' connections twice (the statement cache on
// SQLite, then the counters on both); what a wrapper must pass through is
// written once, here.

// conn is what both drivers' connections implement (modernc sqlite and
// pgx stdlib), beyond the optional Validator and NamedValueChecker that
// only one of them has. A wrapper that merely embedded driver.Conn would
// hide these, and database/sql would fall back to weaker paths: no
// context on Begin, a prepare for every Exec, the default argument
// conversion that rejects pgx's types.
type conn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
}

// stmt is what both drivers' prepared statements implement.
type stmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// connect opens a connection of c, which must have what the store relies
// on (conn).
func connect(ctx context.Context, c driver.Connector) (conn, error) {
	dc, err := c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	full, ok := dc.(conn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("store: the %T connection lacks an interface the store relies on", dc)
	}
	return full, nil
}

// wrappedConn is the base of a connection wrapper: it passes through
// every interface database/sql looks for, the optional ones as the driver
// answers them. A wrapper embeds it and overrides what it changes.
type wrappedConn struct{ conn }

// Unwrap is the driver's connection: modernc's sqlite.Limit looks through
// wrappers with it.
func (w wrappedConn) Unwrap() driver.Conn { return w.conn }

// IsValid asks modernc's connection; pgx's has no say, as without the
// wrapper.
func (w wrappedConn) IsValid() bool {
	if v, ok := w.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue lets pgx take its arguments as they are (arrays,
// pgtype values); modernc's get database/sql's default conversion
// (ErrSkip), as without the wrapper.
func (w wrappedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if v, ok := w.conn.(driver.NamedValueChecker); ok {
		return v.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
