package bench

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// simProcess is `pollhook sim insightly` running as a child process.
type simProcess struct {
	cmd       *exec.Cmd
	base, key string   // the API root (…/v3.1) and the first account owner's API key
	keys      []string // every account owner's API key, in the accounts' order (key is the first)
	host      string   // host:port
	stderr    *bytes.Buffer
	waitDone  chan struct{}
	stopOnce  sync.Once
	startup   time.Duration // from the start to its first answer's address and key
}

// simCommand is how to start a simulator process.
type simCommand struct {
	Executable string   // the pollhook binary (default this one)
	Env        []string // added to its environment (tests)
	Records    int      // per core object
	Seed       uint64
	Accounts   int // Insightly accounts (default 1); startSim reads each owner's key
}

// startSim starts the simulator, without rate limits or quota, and reads
// where it listens and its accounts' owner keys from what it prints
// (internal/app/sim.go: a line "API key <key> (<account>, plan <plan>,
// owner)" for each account, in order).
func startSim(ctx context.Context, cfg simCommand) (*simProcess, error) {
	t0 := time.Now()
	exe := cfg.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	accounts := max(cfg.Accounts, 1)
	args := []string{"sim", "insightly", "--addr", "127.0.0.1:0", "--records", strconv.Itoa(cfg.Records),
		"--seed", strconv.FormatUint(cfg.Seed, 10), "--rate-limit", "-1", "--daily-quota", "-1"}
	if accounts > 1 {
		args = append(args, "--accounts", strconv.Itoa(accounts))
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	sp := &simProcess{cmd: cmd, stderr: &bytes.Buffer{}, waitDone: make(chan struct{})}
	cmd.Stderr = sp.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start the simulator: %w", err)
	}
	type found struct {
		base string
		keys []string
		err  error
	}
	ch := make(chan found, 1)
	go func() {
		var f found
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			switch {
			case len(fields) >= 3 && fields[0] == "base" && fields[1] == "URL":
				f.base = fields[2]
			case len(fields) >= 3 && fields[0] == "API" && fields[1] == "key" &&
				(len(f.keys) == 0 || strings.HasSuffix(fields[len(fields)-1], "owner)")):
				f.keys = append(f.keys, fields[2])
			}
			if f.base != "" && len(f.keys) == accounts {
				break
			}
		}
		if f.base == "" || len(f.keys) < accounts {
			f.err = fmt.Errorf("bench: the simulator printed no base URL and %d owners' API keys (%d; %v)", accounts, len(f.keys), sc.Err())
		}
		ch <- f
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(sp.waitDone) }()
	select {
	case f := <-ch:
		if f.err != nil {
			sp.stop()
			return nil, fmt.Errorf("%w: %s", f.err, sp.stderr.String())
		}
		sp.base, sp.key, sp.keys, sp.startup = f.base, f.keys[0], f.keys, time.Since(t0)
	case <-sp.waitDone:
		return nil, fmt.Errorf("bench: the simulator exited: %s", sp.stderr.String())
	case <-ctx.Done():
		sp.stop()
		return nil, ctx.Err()
	}
	u, err := url.Parse(sp.base)
	if err != nil || u.Host == "" {
		sp.stop()
		return nil, fmt.Errorf("bench: the simulator's base URL %q: %v", sp.base, err)
	}
	sp.host = u.Host
	return sp, nil
}

// rss is the simulator's peak RSS so far.
func (sp *simProcess) rss() int64 {
	return procStatus(strconv.Itoa(sp.cmd.Process.Pid), "VmHWM")
}

// cpu is the simulator's CPU time so far.
func (sp *simProcess) cpu() time.Duration { return procCPU(strconv.Itoa(sp.cmd.Process.Pid)) }

func (sp *simProcess) stop() {
	sp.stopOnce.Do(func() {
		sp.cmd.Process.Kill()
		<-sp.waitDone
	})
}

// procStatus reads a memory figure of /proc/<pid>/status ("self" for
// this process), in bytes; 0 where there is no /proc.
func procStatus(pid, field string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// resetPeakRSS makes this process's peak RSS (VmHWM) its RSS now, so
// that the next reading of the peak is of what follows; it does nothing
// where there is no /proc (clear_refs' "5", Linux 4.0 and later).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procCPU is a process's user and system CPU time from /proc/<pid>/stat
// (in USER_HZ ticks, 100 a second on Linux); 0 where there is no /proc.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses: utime
	// and stime are the 12th and 13th of them.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * (time.Second / 100)
}

// backendsCPU is the CPU time so far of this pool's PostgreSQL backends,
// by process id: those whose application_name is app (the bench tags its
// DSN), as /proc on this host shows them.
func backendsCPU(ctx context.Context, db *sql.DB, app string) map[int]time.Duration {
	rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			out[pid] = procCPU(strconv.Itoa(pid))
		}
	}
	return out
}

// backendsCPUSince is what the backends used between two readings: a
// backend that ended in between is missed, so it errs low.
func backendsCPUSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, cpu := range after {
		d += cpu - before[pid]
	}
	return d
}

// tagDSN gives a PostgreSQL URL an application_name, to find its
// backends by.
func tagDSN(dsn, app string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
