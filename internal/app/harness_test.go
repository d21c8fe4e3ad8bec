package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// syncBuffer collects logs from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a real pollhook server on :0, with an Insightly simulator
// and a receiver, all over real HTTP.
type harness struct {
	t        *testing.T
	base     string // http://127.0.0.1:port/elements/api-v2
	creds    credentials
	sim      *sim.Sim
	simURL   string // http://…/v3.1
	hook     string // a callback URL that answers 200
	srv      *server
	logs     *syncBuffer
	dataDir  string
	database string
	// metricsToken is what scrape sends as a bearer token, if set.
	metricsToken string
}

type harnessOpt func(*serverConfig)

func withDatabase(dsn string) harnessOpt { return func(c *serverConfig) { c.Database = dsn } }
func withClock(now func() time.Time) harnessOpt {
	return func(c *serverConfig) { c.now, c.fetchInterval = now, 50*time.Millisecond }
}

// withAllowUpstream adds HOST[:PORT] to --allow-upstream (the simulator is on it).
func withAllowUpstream(hostPort string) harnessOpt {
	return func(c *serverConfig) { c.AllowUpstream += "," + hostPort }
}
func withMetricsToken(token string) harnessOpt {
	return func(c *serverConfig) { c.MetricsToken = token }
}
func withoutPrivateCallbacks() harnessOpt {
	return func(c *serverConfig) { c.AllowPrivateCallbacks = false }
}

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	return newHarnessSim(t, sim.Config{Records: 30, Seed: 11, RateLimit: -1}, opts...)
}

// newHarnessSim is newHarness with the simulator configured by simCfg.
func newHarnessSim(t *testing.T, simCfg sim.Config, opts ...harnessOpt) *harness {
	t.Helper()
	s := sim.New(simCfg)
	simSrv := httptest.NewServer(s.Handler())
	t.Cleanup(simSrv.Close)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(hook.Close)

	dir := t.TempDir()
	cfg := serverConfig{DataDir: dir, AllowPrivateCallbacks: true, AllowUpstream: simSrv.Listener.Addr().String(), LogLevel: "debug",
		InsightlyRate: 1000, InsightlyConcurrency: 8}
	for _, o := range opts {
		o(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, ln, srv.handler, log) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.stop()
		srv.Close()
	})
	creds, err := readCredentials(srv.credentials)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, base: "http://" + ln.Addr().String() + "/elements/api-v2", creds: creds, sim: s,
		simURL: simSrv.URL + "/v3.1", hook: hook.URL + "/hook", srv: srv, logs: logs, dataDir: dir, database: cfg.database(),
		metricsToken: cfg.MetricsToken}
}

// call sends a request; auth is the Authorization header ("" for none);
// body is sent as is if a string or []byte, else as JSON.
func (h *harness) call(method, path, authz string, body any) (*http.Response, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func (h *harness) platform() string { return h.creds.header() }

func (h *harness) hub(token string) string { return "User " + h.creds.User + ", Element " + token }

func (h *harness) tokenScoped(token string) string { return h.creds.header() + ", Element " + token }

// want checks a status, and for errors the JSON error body and a message fragment.
func want(t *testing.T, resp *http.Response, body []byte, status int, fragment string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, status)
	}
	if status < 400 {
		return
	}
	var e struct{ RequestID, Message string }
	if err := json.Unmarshal(body, &e); err != nil || e.RequestID == "" || e.Message == "" {
		t.Fatalf("error body %s is not {requestId, message}", body)
	}
	if !strings.Contains(e.Message, fragment) {
		t.Fatalf("%s %s: message %q lacks %q", resp.Request.Method, resp.Request.URL.Path, e.Message, fragment)
	}
}

// instanceBody is a valid creation body for the simulator's key.
func (h *harness) instanceBody(name string, extra map[string]any) map[string]any {
	cfg := map[string]any{
		"username":                        "ada@example.com",
		"password":                        h.sim.APIKey(),
		"base.url":                        h.simURL,
		"event.notification.enabled":      true,
		"event.notification.callback.url": h.hook,
		"event.poller.refresh_interval":   "5",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return map[string]any{"element": map[string]any{"key": "insightly"}, "name": name, "tags": []string{"test"}, "configuration": cfg}
}

type instanceJSON struct {
	ID            int64             `json:"id"`
	Name          string            `json:"name"`
	Token         string            `json:"token"`
	Tags          []string          `json:"tags"`
	Valid         bool              `json:"valid"`
	Disabled      bool              `json:"disabled"`
	EventsEnabled bool              `json:"eventsEnabled"`
	ElementID     int64             `json:"elementId"`
	Configuration map[string]string `json:"configuration"`
	User          struct {
		ID           int64  `json:"id"`
		EmailAddress string `json:"emailAddress"`
	} `json:"user"`
}

func (h *harness) create(body any) (instanceJSON, []byte) {
	h.t.Helper()
	resp, out := h.call("POST", "/instances", h.platform(), body)
	want(h.t, resp, out, 200, "")
	var in instanceJSON
	if err := json.Unmarshal(out, &in); err != nil {
		h.t.Fatal(err)
	}
	return in, out
}

func (h *harness) countInstances() int {
	h.t.Helper()
	resp, out := h.call("GET", "/instances", h.platform(), nil)
	want(h.t, resp, out, 200, "")
	var list []instanceJSON
	json.Unmarshal(out, &list)
	return len(list)
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scrape reads /metrics: sample name with labels → value.
func (h *harness) scrape() map[string]float64 {
	h.t.Helper()
	req, err := http.NewRequest("GET", strings.TrimSuffix(h.base, "/elements/api-v2")+"/metrics", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.metricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+h.metricsToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
