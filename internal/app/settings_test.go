package app

import (
	"context"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A POLLHOOK_* value the flag cannot read refuses to start, naming the
// variable and its flag: `POLLHOOK_POLL_TIMEOUT=30` is not silently the
// default 30m. (Not parallel: t.Setenv.)
func TestBadEnvironmentRefusesToStart(t *testing.T) {
	for _, tc := range []struct{ name, flag, value string }{
		{"POLLHOOK_POLL_TIMEOUT", "--poll-timeout", "30"},
		{"POLLHOOK_INTERVAL_UNIT", "--interval-unit", "1 minute"},
		{"POLLHOOK_JOB_RESCUE_AFTER", "--job-rescue-after", "1h30"},
		{"POLLHOOK_FIRST_POLL_SPREAD", "--first-poll-spread", "soon"},
		{"POLLHOOK_ALLOW_PRIVATE_CALLBACKS", "--allow-private-callbacks", "yes"},
		{"POLLHOOK_INSIGHTLY_RATE", "--insightly-rate", "5/s"},
		{"POLLHOOK_INSIGHTLY_CONCURRENCY", "--insightly-concurrency", "four"},
		{"POLLHOOK_WORKERS", "--workers", "2.5"},
		{"POLLHOOK_ORG_MAX_JOBS", "--org-max-jobs", "x"},
		{"POLLHOOK_MAX_RESOURCES_PER_INSTANCE", "--max-resources-per-instance", "10k"},
		{"POLLHOOK_MAX_CONFIG_KEYS", "--max-config-keys", "1e3"},
		{"POLLHOOK_MAX_INSTANCES_PER_ORG", "--max-instances-per-org", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			dir := t.TempDir()
			for _, args := range [][]string{
				{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir},
				{"users", "create", "--data-dir", dir, "--email", "bob@example.com"},
				{"database", "backup", "--data-dir", dir, "--to", filepath.Join(dir, "b.db")},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				var stderr strings.Builder
				start := time.Now()
				code := Run(ctx, args, io.Discard, &stderr)
				cancel()
				if code == 0 || time.Since(start) > time.Second {
					t.Errorf("%s: exit %d after %s", args[0], code, time.Since(start))
				}
				if msg := stderr.String(); !strings.Contains(msg, tc.name+`="`+tc.value+`"`) || !strings.Contains(msg, tc.flag) {
					t.Errorf("%s: stderr %q names neither %s nor %s", args[0], msg, tc.name, tc.flag)
				}
			}
		})
	}
}

// Good values are read: booleans as strconv.ParseBool takes them,
// durations with a unit, numbers; an empty variable is unset.
func TestGoodEnvironment(t *testing.T) {
	t.Setenv("POLLHOOK_POLL_TIMEOUT", "45s")
	t.Setenv("POLLHOOK_FIRST_POLL_SPREAD", "0")
	t.Setenv("POLLHOOK_ALLOW_PRIVATE_CALLBACKS", "1")
	t.Setenv("POLLHOOK_INSIGHTLY_RATE", "2.5")
	t.Setenv("POLLHOOK_WORKERS", "3")
	t.Setenv("POLLHOOK_MAX_CONFIG_KEYS", "")
	var cfg serverConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.flags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if cfg.PollTimeout != 45*time.Second || !cfg.AllowPrivateCallbacks || cfg.InsightlyRate != 2.5 ||
		cfg.Workers != 3 || cfg.MaxConfigKeys == 0 {
		t.Errorf("read %+v", cfg)
	}
	for _, v := range []string{"true", "T", "FALSE", "0"} {
		t.Setenv("POLLHOOK_ALLOW_PRIVATE_CALLBACKS", v)
		var cfg serverConfig
		cfg.flags(flag.NewFlagSet("serve", flag.ContinueOnError))
		if cfg.AllowPrivateCallbacks != (v == "true" || v == "T") {
			t.Errorf("POLLHOOK_ALLOW_PRIVATE_CALLBACKS=%s: %v", v, cfg.AllowPrivateCallbacks)
		}
	}
}
