// Package store is pollhook's database: an SQLite file by default, or
// PostgreSQL shared by several replicas. Both speak through database/sql
// with one set of queries; the few dialect differences are spelled out
// where they occur, and one conformance suite (package storetest) runs on
// both.
//
// The store holds no domain rule. It offers transactions, and writes that
// are safe under concurrency: a row written only if it is still the
// version read (RecordAttempts), a cursor or a pace taken in one
// statement. What a write means (which status follows a failure, when a
// notification waits behind a suspension, where a cursor may move) is
// decided by the domain packages (delivery, poller), which call these.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Errors the store returns; match them with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict")
)

// Store is an open database.
type Store struct {
	queries
	db          *sql.DB
	counter     *counter     // statements and transactions on db (Counts)
	stateWrites atomic.Int64 // per-record states written (StateWritten)
}

// Open connects to dsn and brings its schema up to date. dsn is
// "sqlite:<path>" or a postgres:// URL.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var connector driver.Connector
	var d dialect
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return nil, errors.New("store: sqlite: a file path is required, e.g. sqlite:/var/lib/pollhook/pollhook.db")
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
		// WAL lets readers run beside the writer; busy_timeout makes a
		// second writer wait instead of failing; _txlock=immediate takes the
		// write lock when a transaction begins, so two transactions never
		// deadlock upgrading read locks; foreign keys are off by default.
		conn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		c, err := sqlite.NewConnector(conn)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		connector, d = stmtCacheConnector{c}, dialect{name: SQLite}
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		var err error
		// What sql.Open("pgx", dsn) does, keeping the connector to wrap.
		if connector, err = stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(dsn); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		d = dialect{name: Postgres}
	default:
		return nil, fmt.Errorf("store: database %q is neither sqlite:<path> nor a postgres:// URL", redact(dsn))
	}
	n := new(counter)
	db := sql.OpenDB(countingConnector{Connector: connector, n: n})
	if d.name == SQLite {
		// Writers serialize in SQLite anyway; a small pool keeps readers
		// concurrent without piling up writers on the busy timeout.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	} else {
		// database/sql keeps only 2 idle connections unless told: every
		// other one was closed after use and opened again for the next
		// query (a PostgreSQL backend forked, statements prepared again),
		// which cost delivery three quarters of its time.
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", redact(dsn), err)
	}
	s := &Store{queries: queries{ex: db, d: d}, db: db, counter: n}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// ping connects. Switching a new SQLite file to WAL takes an exclusive
// lock that does not wait on busy_timeout, so processes opening the same
// new file at once retry briefly.
func ping(ctx context.Context, db *sql.DB) error {
	for attempt := 0; ; attempt++ {
		err := db.PingContext(ctx)
		if err == nil || attempt == 50 || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-time.After(time.Duration(10+attempt*10) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// redact hides a password in a database URL.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			cred := dsn[i+3 : at]
			if user, _, ok := strings.Cut(cred, ":"); ok {
				return dsn[:i+3] + user + ":********" + dsn[at:]
			}
		}
	}
	return dsn
}

// Dialect is SQLite or Postgres.
func (s *Store) Dialect() string { return s.d.name }

// DB is the connection pool, for the job engine to share.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Tx is a transaction with the store's queries.
type Tx struct {
	queries
	tx          *sql.Tx
	afterCommit []func()
}

// AfterCommit runs fn once the transaction has committed (never if it
// rolls back): for signals that must not run ahead of the data.
func (t *Tx) AfterCommit(fn func()) { t.afterCommit = append(t.afterCommit, fn) }

// SQL is the underlying transaction, so that jobs can be inserted in it.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// InTx runs fn in a transaction, committed if fn returns nil and rolled
// back otherwise: changes land whole or not at all.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	t := &Tx{queries: queries{ex: tx, d: s.d}, tx: tx}
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	for _, f := range t.afterCommit {
		f()
	}
	return nil
}

// InTxRetrying is InTx for a transaction that may lose a race it cannot
// order: one that locks several of the job engine's rows (an instance's
// poll jobs), which River's completer also updates, a batch at a time in
// no set order. When PostgreSQL aborts it as a deadlock's victim, or for a
// serialization failure, it runs again, up to three times in all, after
// a short random pause. fn must be safe to run again: it may change only
// the database and the values it returns (a failed attempt's AfterCommit
// functions are dropped with it).
func (s *Store) InTxRetrying(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.InTx(ctx, fn)
		if err == nil || attempt == 3 || !retryable(err) {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * time.Duration(5+rand.IntN(20)) * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// retryable says whether PostgreSQL aborted a transaction that would
// succeed if run again: a deadlock's victim, or a serialization failure.
func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// bootstrapLock serializes first-start setup between replicas.
const bootstrapLock = 0x706f6c6c686f6f6c

// InTxLocked is InTx for work that only one process may do at a time,
// such as creating the first organization: on PostgreSQL it also takes a
// transaction-scoped advisory lock; SQLite's immediate transactions
// already exclude each other.
func (s *Store) InTxLocked(ctx context.Context, fn func(*Tx) error) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if s.d.name == Postgres {
			if _, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(bootstrapLock)); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// WithLock runs fn while holding the process-wide migration lock, so
// that work which cannot lock for itself (River's migrator) runs in one
// process at a time. On SQLite it simply runs fn: one file serves one node.
func (s *Store) WithLock(ctx context.Context, fn func() error) error {
	if s.d.name != Postgres {
		return fn()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return fmt.Errorf("store: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	return fn()
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries are the store's statements, on the pool or in a transaction.
type queries struct {
	ex execer
	d  dialect
}

type dialect struct{ name string }

// rebind turns ? placeholders into PostgreSQL's $n. Queries are written
// with ? and contain no literal question marks.
func (d dialect) rebind(q string) string {
	if d.name != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Rebind writes a query's ? placeholders as the store's dialect wants
// them, for callers that query DB() directly (benches, tests).
func (s *Store) Rebind(query string) string { return s.d.rebind(query) }

func (q queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := q.ex.ExecContext(ctx, q.d.rebind(query), args...)
	return res, q.d.wrap(err)
}

func (q queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.ex.QueryContext(ctx, q.d.rebind(query), args...)
	return rows, q.d.wrap(err)
}

func (q queries) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.ex.QueryRowContext(ctx, q.d.rebind(query), args...)
}

// wrap maps driver errors to the store's: a unique violation is a conflict.
func (d dialect) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505") {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return fmt.Errorf("store: %w", err)
}

// bool is how a boolean is written: SQLite has no boolean type.
func (d dialect) bool(b bool) any {
	if d.name == SQLite {
		if b {
			return 1
		}
		return 0
	}
	return b
}

// now is the timestamp the store writes: UTC, microseconds (PostgreSQL's precision).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
