package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/store"
)

// StateConfig says how much per-record state the state benchmark writes.
type StateConfig struct {
	Database string // "" for a temporary SQLite file
	Records  int    // rows of the seen table, one (instance, resource); default 100,000
	Lookups  int    // measured SeenFor calls of one page each; default 200
	PageSize int    // records per committed page and per lookup; default 500, as the poller
	Seed     uint64 // object IDs, dates and hashes; default 1
	Progress func(format string, args ...any)
}

// StateResult is what it measured.
type StateResult struct {
	Dialect   string
	Records   int
	PageSize  int
	Pages     int
	Write     time.Duration // every page's CommitRun transaction, summed
	Lookups   int
	LookupP50 time.Duration // one SeenFor call for a page of PageSize known IDs
	LookupP99 time.Duration
	// PostgreSQL only: the same lookups before ANALYZE, as the writes
	// leave the table (HadStats: autovacuum had analyzed it already), and
	// the server's autovacuum setting. The figures above are after ANALYZE.
	StaleLookups       int
	StaleP50, StaleP99 time.Duration
	HadStats           bool
	Autovacuum         string
	// On disk: the table and its primary-key index (SQLite's rowid table
	// and its autoindex; PostgreSQL's heap, TOAST and maps, and its
	// indexes).
	TableBytes, IndexBytes int64
	SizeMethod             string
	// PayloadBytes is the column values of one row: what any layout has to
	// store at least (the baseline).
	PayloadBytes int
}

// TotalBytes is the state's size on disk.
func (r *StateResult) TotalBytes() int64 { return r.TableBytes + r.IndexBytes }

// BytesPerRecord is the on-disk cost of one record's state.
func (r *StateResult) BytesPerRecord() float64 {
	return float64(r.TotalBytes()) / float64(max(r.Records, 1))
}

// stateResource is the resource the state belongs to.
const stateResource = "contacts"

// State measures the per-record state (table seen): filled through the
// poller's write path (Tx.CommitRun, a page at a time), then looked up as
// a run's page is (SeenFor), then measured on disk.
func State(ctx context.Context, cfg StateConfig) (*StateResult, error) {
	if cfg.Records <= 0 {
		cfg.Records = 100_000
	}
	if cfg.Lookups <= 0 {
		cfg.Lookups = 200
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 500
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	progress := quietIfNil(cfg.Progress)
	st, tmp, closeStore, err := openStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	res := &StateResult{Dialect: st.Dialect(), Records: cfg.Records, PageSize: cfg.PageSize, Lookups: cfg.Lookups}

	// One instance polling one resource: the state's owner.
	inst, err := storedInstance(ctx, st, "state")
	if err != nil {
		return nil, err
	}
	if _, _, err := st.SyncPolls(ctx, inst.ID, []string{stateResource}, 15*time.Minute, time.Now()); err != nil {
		return nil, err
	}
	var before int64
	if tmp != "" {
		before = sqliteFileBytes(ctx, st, tmp)
	}

	// Realistic state: 9-digit Insightly IDs, ascending with uneven gaps
	// (a run reads in ID order), a second-precision date within two
	// years, a 33-byte version-2 hash, CREATED sent for most.
	rng := mrand.New(mrand.NewPCG(cfg.Seed, 0x57a7e))
	ids := make([]string, cfg.Records)
	step := max(int64(899_999_999)/int64(cfg.Records), 2)
	step = min(step, 4000)
	id := int64(100_000_000) + rng.Int64N(1000)
	for i := range ids {
		ids[i] = strconv.FormatInt(id, 10)
		id += 1 + rng.Int64N(2*step-1)
	}
	if len(ids[len(ids)-1]) != 9 {
		return nil, fmt.Errorf("bench: %d records do not fit in 9-digit IDs", cfg.Records)
	}
	now := time.Now().UTC().Truncate(time.Second)
	res.PayloadBytes = 8 + len(stateResource) + len(ids[0]) + 8 + 33 + 1

	progress("writing %d records' state on %s, %d per CommitRun", cfg.Records, res.Dialect, cfg.PageSize)
	window := &store.Window{From: now.Add(-time.Hour), Compare: now.Add(-time.Hour), Normal: now.Add(-time.Hour),
		Start: now, RunAt: now, Position: "bench"}
	for start := 0; start < len(ids); start += cfg.PageSize {
		page := ids[start:min(start+cfg.PageSize, len(ids))]
		rr := &store.RunResult{InstanceID: inst.ID, Resource: stateResource, Seen: make(map[string]store.Seen, len(page)), RunAt: now}
		for _, id := range page {
			hash := make([]byte, 33)
			hash[0] = 2
			for j := 1; j < len(hash); j += 8 {
				v := rng.Uint64()
				for k := 0; k < 8 && j+k < len(hash); k++ {
					hash[j+k] = byte(v >> (8 * k))
				}
			}
			rr.Seen[id] = store.Seen{Updated: now.Add(-time.Duration(rng.Int64N(730*24*3600)) * time.Second),
				Hash: hash, CreatedSent: rng.Float64() < 0.9}
		}
		res.Pages++
		if last := start+cfg.PageSize >= len(ids); last {
			rr.Cursor, rr.Stats = now, store.RunStats{Pages: res.Pages, Records: len(ids)}
		} else {
			window.Pages, window.Records = res.Pages, start+len(page)
			rr.Window = window
		}
		t0 := time.Now()
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.CommitRun(ctx, rr) }); err != nil {
			return nil, err
		}
		res.Write += time.Since(t0)
		if res.Pages%40 == 0 {
			progress("%d records", start+len(page))
		}
	}
	var n int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM seen`).Scan(&n); err != nil {
		return nil, err
	}
	if n != cfg.Records {
		return nil, fmt.Errorf("bench: %d rows in seen after writing %d", n, cfg.Records)
	}
	// Lookups: what a run does for each page it reads. IDs of a page are
	// scattered (the records changed since the cursor) and known.
	size := min(cfg.PageSize, len(ids))
	pick := func() []string {
		idx := rng.Perm(len(ids))[:size]
		slices.Sort(idx)
		out := make([]string, size)
		for i, j := range idx {
			out[i] = ids[j]
		}
		return out
	}
	lookup := func() (time.Duration, error) {
		page := pick()
		t0 := time.Now()
		got, err := st.SeenFor(ctx, inst.ID, stateResource, page)
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if len(got) != len(page) {
			return 0, fmt.Errorf("bench: SeenFor found %d of %d known IDs", len(got), len(page))
		}
		return d, nil
	}
	measure := func(n, warm int) (p50, p99 time.Duration, err error) {
		for range warm {
			if _, err := lookup(); err != nil {
				return 0, 0, err
			}
		}
		lat := make([]time.Duration, 0, n)
		for range n {
			d, err := lookup()
			if err != nil {
				return 0, 0, err
			}
			lat = append(lat, d)
		}
		slices.Sort(lat)
		return percentile(lat, 0.5), percentile(lat, 0.99), nil
	}
	if res.Dialect == store.Postgres {
		// PostgreSQL plans SeenFor from the table's statistics. Until
		// ANALYZE (autovacuum's, on a server that runs it) has seen the
		// table, it expects a few rows per (instance, resource), scans them
		// all through the primary key's prefix and filters on the IDs: first
		// as the writes leave the table, then with fresh statistics.
		db := st.DB()
		db.QueryRowContext(ctx, `SHOW autovacuum`).Scan(&res.Autovacuum)
		var cols int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'seen'`).Scan(&cols); err != nil {
			return nil, err
		}
		res.HadStats = cols > 0
		res.StaleLookups = max(cfg.Lookups/10, 5)
		progress("looking up %d pages of %d IDs before ANALYZE", res.StaleLookups, cfg.PageSize)
		if res.StaleP50, res.StaleP99, err = measure(res.StaleLookups, 1); err != nil {
			return nil, err
		}
		if _, err := db.ExecContext(ctx, `ANALYZE seen`); err != nil {
			return nil, err
		}
	}
	progress("looking up %d pages of %d IDs", cfg.Lookups, cfg.PageSize)
	if res.LookupP50, res.LookupP99, err = measure(cfg.Lookups, 5); err != nil {
		return nil, err
	}

	if err := stateSize(ctx, st, res, tmp, before); err != nil {
		return nil, err
	}
	return res, nil
}

// stateSize measures the seen table and its primary-key index on disk.
func stateSize(ctx context.Context, st *store.Store, res *StateResult, file string, before int64) error {
	db := st.DB()
	if res.Dialect == store.Postgres {
		var names []string
		rows, err := db.QueryContext(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'seen' ORDER BY 1`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return err
			}
			names = append(names, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		res.SizeMethod = "pg_table_size + pg_indexes_size (" + strings.Join(names, ", ") + ")"
		var total int64
		err = db.QueryRowContext(ctx, `SELECT pg_table_size('seen'), pg_indexes_size('seen'), pg_total_relation_size('seen')`).
			Scan(&res.TableBytes, &res.IndexBytes, &total)
		if err == nil && total != res.TableBytes+res.IndexBytes {
			err = fmt.Errorf("bench: pg_total_relation_size %d is not table %d + indexes %d", total, res.TableBytes, res.IndexBytes)
		}
		return err
	}
	// SQLite: the pages of the table and of each of its indexes (the
	// primary key is sqlite_autoindex_seen_1), from dbstat when the build
	// has it.
	rows, err := db.QueryContext(ctx, `SELECT name, type FROM sqlite_master WHERE tbl_name = 'seen'`)
	if err != nil {
		return err
	}
	var indexes []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return err
		}
		if typ == "index" {
			indexes = append(indexes, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var table int64
	err = db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = 'seen'`).Scan(&table)
	if err == nil {
		res.TableBytes, res.SizeMethod = table, "dbstat: table seen + "+strings.Join(indexes, ", ")
		for _, ix := range indexes {
			var n int64
			if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = ?`, ix).Scan(&n); err != nil {
				return err
			}
			res.IndexBytes += n
		}
		return nil
	}
	if file == "" {
		return fmt.Errorf("bench: SQLite without dbstat (%v), and not a file this bench created", err)
	}
	// No dbstat: the file's growth after a checkpoint, not split.
	after := sqliteFileBytes(ctx, st, file)
	if after <= before {
		return errors.New("bench: the database file did not grow")
	}
	res.TableBytes, res.IndexBytes, res.SizeMethod = after-before, 0, "file growth after a checkpoint (table and index together)"
	return nil
}

// sqliteFileBytes is the database file's size once the WAL is checkpointed into it.
func sqliteFileBytes(ctx context.Context, st *store.Store, file string) int64 {
	st.DB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	fi, err := os.Stat(file)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Format prints the result.
func (r *StateResult) Format() string {
	split := fmt.Sprintf("table %.1f + primary-key index %.1f", float64(r.TableBytes)/float64(r.Records), float64(r.IndexBytes)/float64(r.Records))
	if r.IndexBytes == 0 {
		split = "table and index together"
	}
	perID := float64(r.LookupP50.Microseconds()) / float64(max(r.PageSize, 1))
	analyzed, stale := "", ""
	if r.StaleLookups > 0 {
		stats := "none yet"
		if r.HadStats {
			stats = "already taken"
		}
		analyzed = "; after ANALYZE"
		stale = fmt.Sprintf("  SeenFor before ANALYZE      p50 %d µs  p99 %d µs  (%d pages; statistics: %s; autovacuum %s)\n",
			r.StaleP50.Microseconds(), r.StaleP99.Microseconds(), r.StaleLookups, stats, r.Autovacuum)
	}
	return fmt.Sprintf(`per-record state on %s: %d records of one (instance, resource), written by CommitRun in pages of %d
  write                       %8.0f records/s  (%d pages in %s, commits included)
  SeenFor, %d known IDs      p50 %d µs  p99 %d µs  (%d random pages; %.1f µs per ID at p50%s)
%s  on disk                     %8.1f bytes/record  (%s; %s)
  total                       %8.2f MiB at %d records  (%.1f× the %d bytes of a row's column values)
`, r.Dialect, r.Records, r.PageSize,
		float64(r.Records)/r.Write.Seconds(), r.Pages, r.Write.Round(time.Millisecond),
		r.PageSize, r.LookupP50.Microseconds(), r.LookupP99.Microseconds(), r.Lookups, perID, analyzed, stale,
		r.BytesPerRecord(), split, r.SizeMethod,
		float64(r.TotalBytes())/(1<<20), r.Records, r.BytesPerRecord()/float64(r.PayloadBytes), r.PayloadBytes)
}

// openStore opens the benchmark's database: dsn, or a temporary SQLite
// file (named in file, removed by closeStore) when dsn is "".
func openStore(ctx context.Context, dsn string) (st *store.Store, file string, closeStore func(), err error) {
	dir := ""
	if dsn == "" {
		if dir, err = os.MkdirTemp("", "pollhook-bench-"); err != nil {
			return nil, "", nil, err
		}
		file = filepath.Join(dir, "bench.db")
		dsn = "sqlite:" + file
	}
	if st, err = store.Open(ctx, dsn); err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, "", nil, err
	}
	return st, file, func() {
		st.Close()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}, nil
}

// storedInstance is an instance stored directly, with its organization
// and user: benchmarks of the store need no element behind it.
func storedInstance(ctx context.Context, st *store.Store, name string) (*store.Instance, error) {
	org := &store.Organization{Name: "bench", SecretHash: auth.Hash(auth.NewSecret())}
	if err := st.CreateOrganization(ctx, org); err != nil {
		return nil, err
	}
	u := &store.User{OrgID: org.ID, Email: "bench@pollhook.local", SecretHash: auth.Hash(auth.NewSecret())}
	if err := st.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	token := make([]byte, 32)
	rand.Read(token)
	inst := &store.Instance{OrgID: org.ID, UserID: u.ID, ElementKey: "insightly", Name: name, TokenHash: token,
		Valid: true, EventsEnabled: true}
	return inst, st.CreateInstance(ctx, inst)
}
