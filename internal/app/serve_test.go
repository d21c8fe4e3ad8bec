package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// runServeCommand starts `pollhook serve` as a user would, on :0, and
// returns its base URL and a stop function that returns the exit code.
func runServeCommand(t *testing.T, stderr io.Writer, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), w, stderr)
		w.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		cancel()
		t.Fatalf("serve printed %q (%v); exit %d", line, err, <-done)
	}
	return m[1], func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// `pollhook serve` starts with nothing but a data dir, creates the first
// credentials once, keeps them across restarts, and never logs them.
func TestServeCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var logs lockedWriter
	base, stop := runServeCommand(t, &logs, "--data-dir", dir)
	credFile := filepath.Join(dir, "credentials")
	st, err := os.Stat(credFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	if k, err := os.Stat(filepath.Join(dir, "encryption.key")); err != nil || k.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v", err)
	}
	creds, err := readCredentials(credFile)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, authz string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", authz)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/instances", creds.header()); code != 200 {
		t.Fatalf("GET /instances with the first credentials: %d", code)
	}
	if code := get("/instances", "User x, Organization y"); code != 401 {
		t.Errorf("bad secrets: %d", code)
	}
	root := strings.TrimSuffix(base, "/elements/api-v2")
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(root + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, resp, err)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if !strings.Contains(logs.String(), credFile) {
		t.Errorf("the log does not say where the credentials are:\n%s", logs.String())
	}
	if creds.Email != "admin@pollhook.local" || creds.ConsolePassword == "" {
		t.Errorf("the credentials file has no console sign-in: %+v", creds)
	}
	for _, secret := range []string{creds.User, creds.Organization, creds.ConsolePassword} {
		if strings.Contains(logs.String(), secret) {
			t.Error("the log contains a secret")
		}
	}
	// A restart keeps the organization and does not make new credentials.
	// It logs JSON when asked: one object a line.
	before, _ := os.ReadFile(credFile)
	var jsonLogs lockedWriter
	base, stop = runServeCommand(t, &jsonLogs, "--data-dir", dir, "--log-format", "json")
	if code := get("/instances", creds.header()); code != 200 {
		t.Errorf("after a restart: %d", code)
	}
	stop()
	requests := 0
	for line := range strings.Lines(jsonLogs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON log line: %q", line)
		}
		if rec["path"] == "/elements/api-v2/instances" && rec["status"] == float64(200) {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("%d JSON request lines for GET /instances in:\n%s", requests, jsonLogs.String())
	}
	after, _ := os.ReadFile(credFile)
	if string(before) != string(after) {
		t.Error("a restart rewrote the credentials")
	}
}

func TestServeRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--database", "mysql://x"}, "neither sqlite:"},
		{[]string{"--encryption-key", "short"}, "--encryption-key"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--org-max-jobs", "-1"}, "--org-max-jobs"},
	} {
		var stderr strings.Builder
		code := Run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args...), io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr.String())
		}
	}
}

// PostgreSQL: serve refuses to start without a shared key, and with one
// the whole instance API works.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := testdb.FreshSchema(t, testdb.PostgresURL(t))
	var stderr strings.Builder
	code := Run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--database", dsn}, io.Discard, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "every replica must use the same encryption key") {
		t.Fatalf("serve on PostgreSQL without a key: exit %d, %q", code, stderr.String())
	}
	key := seal.NewKey("k1")
	h := newHarness(t, withDatabase(dsn), func(c *serverConfig) { c.EncryptionKey = key })
	in, _ := h.create(h.instanceBody("On Postgres", nil))
	resp, out := h.call("GET", "/hubs/crm/leads?pageSize=3", h.hub(in.Token), nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("PATCH", fmt.Sprintf("/instances/%d", in.ID), h.platform(), map[string]any{"tags": []string{"pg"}})
	want(t, resp, out, 200, "")
	// The API key is encrypted at rest.
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB().Query("SELECT value FROM instance_config")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		rows.Scan(&v)
		if strings.Contains(v, h.sim.APIKey()) {
			t.Error("the API key is stored in clear")
		}
	}
}

func TestUsersCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, stop := runServeCommand(t, io.Discard, "--data-dir", dir)
	stop()
	var out, stderr strings.Builder
	if code := Run(context.Background(), []string{"users", "create", "--data-dir", dir, "--email", "bob@example.com", "--first", "Bob"}, &out, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	m := regexp.MustCompile(`user secret:\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output %q", out.String())
	}
	first, _ := readCredentials(filepath.Join(dir, "credentials"))
	base, stop := runServeCommand(t, io.Discard, "--data-dir", dir)
	defer stop()
	req, _ := http.NewRequest("GET", base+"/instances", nil)
	req.Header.Set("Authorization", "User "+m[1]+", Organization "+first.Organization)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("the new user cannot call the API: %v %v", resp, err)
	}
	// A second organization with its own secret.
	out.Reset()
	if code := Run(context.Background(), []string{"users", "create", "--data-dir", dir, "--email", "eve@globex.example", "--new-organization", "Globex"}, &out, &stderr); code != 0 {
		t.Fatalf("new organization: %s", stderr.String())
	}
	if !strings.Contains(out.String(), "organization secret:") {
		t.Errorf("output %q", out.String())
	}
	// Now two organizations exist: the organization must be named.
	stderr.Reset()
	if code := Run(context.Background(), []string{"users", "create", "--data-dir", dir, "--email", "x@example.com"}, io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), "--organization") {
		t.Errorf("ambiguous organization: %d %q", code, stderr.String())
	}
	if code := Run(context.Background(), []string{"users", "create", "--data-dir", dir, "--email", "not-an-address"}, io.Discard, &stderr); code != 2 {
		t.Errorf("bad e-mail: exit %d", code)
	}
}
