package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pollhook/pollhook/internal/store"
)

// runDatabase: `pollhook database backup` snapshots the SQLite file while
// the server runs; `pollhook database copy` moves everything to another
// database (SQLite to PostgreSQL, typically) while the server is stopped.
func runDatabase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: pollhook database <command> [flags]\n\nCommands:")
		fmt.Fprintln(w, "  backup --to FILE          a consistent copy of the SQLite database, taken while pollhook runs")
		fmt.Fprintln(w, "  copy --from DSN --to DSN  copy everything into an empty database (stop the server first)")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	switch args[0] {
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "copy":
		return runCopy(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "pollhook database: unknown command %q\n\n", args[0])
	usage(stderr)
	return errUsage
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook database backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serverConfig
	cfg.flags(fs)
	to := fs.String("to", "", "the backup file to write (it must not exist)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := cfg.envError(stderr, "pollhook database backup"); err != nil {
		return err
	}
	if *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pollhook database backup: give the file to write with --to FILE")
		return errUsage
	}
	if !strings.HasPrefix(cfg.database(), "sqlite:") {
		return errors.New("backup copies a SQLite file; back PostgreSQL up with its own tools (pg_dump)")
	}
	if _, err := os.Stat(*to); err == nil {
		return fmt.Errorf("%s exists: pollhook does not overwrite backups", *to)
	}
	st, err := store.Open(ctx, cfg.database())
	if err != nil {
		return err
	}
	defer st.Close()
	// The backup is the whole file: console sessions come along, unlike
	// `database copy`, which leaves them behind (store.Copy's notCopied).
	// VACUUM INTO reads one snapshot: a running server's writes either
	// are in it whole or not at all.
	if _, err := st.DB().ExecContext(ctx, `VACUUM INTO ?`, *to); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Chmod(*to, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", strings.TrimPrefix(cfg.database(), "sqlite:"), *to)
	fmt.Fprintf(stdout, "keep %s with it: the instances' secrets are sealed with that key\n", filepath.Join(cfg.DataDir, "encryption.key"))
	return nil
}

func runCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook database copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the database to copy: sqlite:<path> or postgres://… (its server stopped)")
	to := fs.String("to", "", "an empty database to copy into: postgres://… or sqlite:<path>")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pollhook database copy: give --from DSN and --to DSN")
		return errUsage
	}
	if *from == *to {
		return errors.New("--from and --to are the same database")
	}
	src, err := store.Open(ctx, *from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, *to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dst.Close()
	total := 0
	err = store.Copy(ctx, src, dst, func(table string, rows int) {
		total += rows
		fmt.Fprintf(stderr, "copied %-16s %d rows\n", table, rows)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d rows from %s to %s\n", total, src.Dialect(), dst.Dialect())
	if src.Dialect() == store.SQLite {
		dir := filepath.Dir(strings.TrimPrefix(*from, "sqlite:"))
		fmt.Fprintf(stdout, "start the new servers with --database <the --to DSN> and the key that sealed the secrets:\n"+
			"  --encryption-key \"$(cat %s)\"\n", filepath.Join(dir, "encryption.key"))
	}
	return nil
}
