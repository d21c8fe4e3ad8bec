package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// One `pollhook serve` per SQLite file: a second one, a real second
// process, fails at once, naming the lock file and the holder, and
// touches nothing (the first one's running job stays running). Backups
// and `users create` still work beside the server; the lock dies with
// its process, even a SIGKILLed one.
func TestServeOneProcessPerSQLiteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "pollhook.db")
	first := startProcess(t, "--data-dir", dir)

	// A job the first server is running, as far as the database says.
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.DB().Exec(`INSERT INTO river_job (kind, max_attempts, state, attempt, attempted_at) VALUES ('test_running', 1, 'running', 1, ?)`,
		time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	jobID, _ := res.LastInsertId()
	credsBefore, err := os.ReadFile(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}

	// The second serve: on the first one's port too, as an operator
	// starting it twice by mistake would.
	addr := strings.TrimPrefix(strings.TrimSuffix(first.base, "/elements/api-v2"), "http://")
	for _, a := range []string{addr, "127.0.0.1:0"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "serve", "--addr", a, "--data-dir", dir)
		cmd.Env = append(os.Environ(), "POLLHOOK_TEST_AS_MAIN=1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		cancel()
		took := time.Since(start)
		code := cmd.ProcessState.ExitCode()
		if err == nil || code <= 0 || took > 10*time.Second {
			t.Errorf("second serve on %s: exit %d after %s (%v): %s", a, code, took, err, out)
		}
		for _, want := range []string{"in use by another process", filepath.Join(dir, "pollhook.db.lock"),
			fmt.Sprintf("pid %d", first.cmd.Process.Pid)} {
			if !strings.Contains(string(out), want) {
				t.Errorf("second serve on %s: output lacks %q: %s", a, want, out)
			}
		}
	}
	var state string
	if err := st.DB().QueryRow(`SELECT state FROM river_job WHERE id = ?`, jobID).Scan(&state); err != nil || state != "running" {
		t.Errorf("the first server's running job is now %q (%v): the second serve recovered it as an orphan", state, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "credentials")); string(b) != string(credsBefore) {
		t.Error("the second serve rewrote the credentials")
	}

	// Beside the running server: a backup, a new user.
	var out, stderr strings.Builder
	if code := Run(context.Background(), []string{"database", "backup", "--data-dir", dir, "--to", filepath.Join(t.TempDir(), "b.db")}, &out, &stderr); code != 0 {
		t.Errorf("backup while serve runs: exit %d: %s", code, stderr.String())
	}
	if code := Run(context.Background(), []string{"users", "create", "--data-dir", dir, "--email", "bob@example.com"}, &out, &stderr); code != 0 {
		t.Errorf("users create while serve runs: exit %d: %s", code, stderr.String())
	}

	// SIGKILL leaves the lock file, but not the lock.
	first.kill()
	if _, err := os.Stat(filepath.Join(dir, "pollhook.db.lock")); err != nil {
		t.Errorf("lock file: %v", err)
	}
	second := startProcess(t, "--data-dir", dir)
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, second.logs.String())
	}
	// Stopped cleanly: the next one starts too (in this process now).
	_, stop := runServeCommand(t, io.Discard, "--data-dir", dir)
	if code := stop(); code != 0 {
		t.Errorf("serve stopped with %d", code)
	}
}
