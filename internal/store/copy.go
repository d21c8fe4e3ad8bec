package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// copyTables are pollhook's tables in an order that satisfies their
// references. The job engine's tables are not copied: the destination's
// engine recreates every poll's job and every callback's delivery job
// when it starts (see jobs' reconcile).
var copyTables = []string{
	"organizations", "users", "instances", "instance_config", "polls", "seen", "known_ids",
	"accounts", "callbacks", "notifications", "events", "attempts", "test_deliveries",
}

// notCopied are pollhook's tables that Copy leaves behind on purpose:
// console sessions are short-lived sign-ins, and everyone simply signs in
// again on the destination (users' password hashes are copied with users);
// the upstream pace is the moment's traffic, rebuilt by the next request.
var notCopied = []string{"console_sessions", "upstream_pace", "upstream_slots"}

// identity are the tables' generated keys, whose sequences follow the copy.
var identity = map[string]string{
	"organizations": "id", "users": "id", "instances": "id", "instance_config": "id",
	"events": "seq", "callbacks": "id", "notifications": "seq", "attempts": "id",
	"test_deliveries": "id",
}

// CopyProgress is told each table's row count as it is copied.
type CopyProgress func(table string, rows int)

// ErrNotEmpty means the destination already holds an organization.
var ErrNotEmpty = errors.New("the destination database already holds pollhook data")

// Copy copies everything pollhook keeps from src into dst, an empty
// database at the same schema version, in one transaction on dst: it all
// lands, or nothing does. src must not be in use (stop its server first):
// the copy is then exact, cursors, dedupe state and the delivery outbox
// included, and the destination's servers carry on where src stopped.
// Secrets stay sealed: dst's servers need src's encryption key.
func Copy(ctx context.Context, src, dst *Store, progress CopyProgress) error {
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if sv != dv {
		return fmt.Errorf("the source is at schema version %d and the destination at %d: open both with this pollhook first", sv, dv)
	}
	if err := checkCopyTables(ctx, dst); err != nil {
		return err
	}
	var n int
	if err := dst.row(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n); err != nil {
		return dst.d.wrap(err)
	}
	if n > 0 {
		return ErrNotEmpty
	}
	// Read the source in one transaction: a consistent snapshot.
	stx, err := src.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: src.d.name == Postgres})
	if err != nil {
		return err
	}
	defer stx.Rollback()
	return dst.InTx(ctx, func(tx *Tx) error {
		for _, table := range copyTables {
			rows, err := copyTable(ctx, src.d, stx, tx, table)
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			if progress != nil {
				progress(table, rows)
			}
		}
		if dst.d.name != Postgres {
			return nil // SQLite's AUTOINCREMENT follows the largest key by itself
		}
		for table, col := range identity {
			if _, err := tx.exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), COALESCE(MAX(%s), 0) + 1, false) FROM %s`,
				table, col, col, table)); err != nil {
				return err
			}
		}
		return nil
	})
}

type column struct{ name, typ string }

// columns lists a table's columns in dst's dialect.
func (t *Tx) columns(ctx context.Context, table string) ([]column, error) {
	q := `SELECT name, type FROM pragma_table_info(?)`
	if t.d.name == Postgres {
		q = `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`
	}
	rows, err := t.query(ctx, q, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, err
		}
		c.typ = strings.ToLower(c.typ)
		out = append(out, c)
	}
	if len(out) == 0 && rows.Err() == nil {
		return nil, fmt.Errorf("no table %s in the destination", table)
	}
	return out, rows.Err()
}

func copyTable(ctx context.Context, srcDialect dialect, src *sql.Tx, dst *Tx, table string) (int, error) {
	cols, err := dst.columns(ctx, table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	list := strings.Join(names, ", ")
	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM `+table)
	if err != nil {
		return 0, srcDialect.wrap(err)
	}
	defer rows.Close()
	insert := dst.d.rebind(`INSERT INTO ` + table + ` (` + list + `) VALUES (` + placeholders(len(cols)) + `)`)
	stmt, err := dst.tx.PrepareContext(ctx, insert)
	if err != nil {
		return 0, dst.d.wrap(err)
	}
	defer stmt.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		args := make([]any, len(cols))
		for i, c := range cols {
			if args[i], err = convert(vals[i], c, dst.d); err != nil {
				return n, fmt.Errorf("%s.%s: %w", table, c.name, err)
			}
			if table == "polls" && c.name == "job_id" {
				args[i] = nil // the source's job ids mean nothing here
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return n, dst.d.wrap(err)
		}
		n++
	}
	return n, rows.Err()
}

// convert turns a value read from one dialect into one the other's column
// accepts: SQLite keeps booleans as integers and may hand back times as
// text; PostgreSQL wants them typed.
func convert(v any, c column, d dialect) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch {
	case c.typ == "boolean":
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool:
			return x, nil
		}
	case strings.HasPrefix(c.typ, "timestamp"):
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05"} {
				if t, err := time.Parse(layout, x); err == nil {
					return t.UTC(), nil
				}
			}
			return nil, fmt.Errorf("%q is not a time", x)
		}
	case d.name != Postgres:
		if b, ok := v.(bool); ok {
			return d.bool(b), nil
		}
	}
	return v, nil
}

// checkCopyTables refuses to copy a schema with a table copyTables does
// not know: a migration that adds one must say how it is copied.
func checkCopyTables(ctx context.Context, st *Store) error {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if st.d.name == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := st.query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return st.d.wrap(err)
		}
		if name != "schema_migrations" && !strings.HasPrefix(name, "river_") && !slices.Contains(copyTables, name) &&
			!slices.Contains(notCopied, name) {
			return fmt.Errorf("store: table %s is not in the copy list (copyTables)", name)
		}
	}
	return st.d.wrap(rows.Err())
}
