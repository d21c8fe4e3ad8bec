package insightly

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// t0 is where test clocks start: a round second, so boundaries are easy to read.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testBundle struct {
	sim   *Sim
	srv   *httptest.Server
	clock *ManualClock
	key   string
}

// setup starts a simulator behind a real HTTP server, on a manual clock at
// t0 and, unless cfg says otherwise, without the per-second limiter so
// tests can page quickly.
func setup(t *testing.T, cfg Config) (*Sim, *testBundle) {
	t.Helper()
	clock := NewManualClock(t0)
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	sim := New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, &testBundle{sim: sim, srv: srv, clock: clock, key: sim.APIKey()}
}

func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// do sends one request with the bundle's key; body, if not nil, is sent as
// JSON (a string is sent as is).
func (b *testBundle) do(t *testing.T, method, path string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return b.doKey(t, b.key, method, path, body, hdr...)
}

func (b *testBundle) doKey(t *testing.T, key, method, path string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", basic(key))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

// getList fetches a list and decodes it, failing on a non-200.
func (b *testBundle) getList(t *testing.T, path string) ([]map[string]any, *http.Response) {
	t.Helper()
	resp, body := b.do(t, "GET", path, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return decodeList(t, body), resp
}

// getRecord fetches one record and decodes it, failing on a non-200.
func (b *testBundle) getRecord(t *testing.T, path string) map[string]any {
	t.Helper()
	resp, body := b.do(t, "GET", path, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return decodeRecord(t, body)
}

// write sends a POST or PUT and decodes the record it returns.
func (b *testBundle) write(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, out := b.do(t, method, path, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return decodeRecord(t, out)
}

func decodeList(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode list: %v: %s", err, body)
	}
	return out
}

func decodeRecord(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode record: %v: %s", err, body)
	}
	return out
}

func idOf(t *testing.T, rec map[string]any, pk string) int64 {
	t.Helper()
	n, ok := rec[pk].(json.Number)
	if !ok {
		t.Fatalf("record has no %s: %v", pk, rec)
	}
	id, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func message(t *testing.T, body []byte) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal(body, &m); err != nil || m.Message == "" {
		t.Fatalf("want a {\"Message\": …} body, got %s", body)
	}
	return m.Message
}

func wantStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, want)
	}
}
