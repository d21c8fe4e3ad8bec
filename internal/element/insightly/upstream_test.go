package insightly

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/netguard/netguardtest"
)

func TestUpstreamsCheck(t *testing.T) {
	t.Parallel()
	p := Upstreams{Allow: netguard.AllowList{{Host: "127.0.0.1", Port: "8080"}, {Host: "proxy.corp.example"}}}
	cases := map[string]bool{
		"https://api.na1.insightly.com/v3.1":         true,
		"https://api.eu1.insightly.com":              true,
		"https://API.NA1.INSIGHTLY.COM/v3.1":         true,
		"https://api.na1.insightly.com:443/v3.1":     true,
		"https://api.my-pod.insightly.com/v3.1":      true,
		"http://api.na1.insightly.com/v3.1":          false,
		"https://api.na1.insightly.com:8443/v3.1":    false,
		"https://api.na1.insightly.com.evil.example": false,
		"https://xapi.na1.insightly.com":             false,
		"https://api.na1.insightly.com@evil.example": false,
		"https://evil.example/api.na1.insightly.com": false,
		"https://api..insightly.com":                 false,
		"https://insightly.com":                      false,
		"https://127.0.0.1/v3.1":                     false,
		"http://127.0.0.1:8080/v3.1":                 true,
		"https://127.0.0.1:8080/v3.1":                true,
		"http://127.0.0.1:8081/v3.1":                 false,
		"http://localhost:8080/v3.1":                 false,
		"https://proxy.corp.example:9443/v3.1":       true,
		"http://proxy.corp.example/v3.1":             true,
		"ftp://proxy.corp.example/v3.1":              false,
		"https://api.na1.insightly.com:99999/v3.1":   false,
	}
	for raw, ok := range cases {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Check(u)
		if (err == nil) != ok {
			t.Errorf("Check(%s) = %v, want allowed=%v", raw, err, ok)
		}
		if err != nil && !errors.Is(err, element.ErrUpstreamNotAllowed) {
			t.Errorf("Check(%s): %v does not match ErrUpstreamNotAllowed", raw, err)
		}
	}
}

// Insightly's own hosts are judged on the address they resolve to, with
// the one table every guard shares: a name pointing at an internal
// address is refused before any connection.
func TestUpstreamDialJudgesResolvedAddresses(t *testing.T) {
	t.Parallel()
	for _, c := range netguardtest.Cases {
		ip := netip.MustParseAddr(c.Addr).WithZone("")
		p := Upstreams{Resolver: netguardtest.DNS{"api.na1.insightly.com": {ip.String()}}}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		conn, err := p.dial(ctx, "tcp", "api.na1.insightly.com:443")
		cancel()
		if conn != nil {
			conn.Close()
		}
		if refused := errors.Is(err, element.ErrUpstreamNotAllowed); refused == c.Public {
			t.Errorf("%s (%s): %v, want public=%v", c.Addr, c.Why, err, c.Public)
		}
	}
	// Only port 443 of an Insightly host, and nothing else unless allowed.
	p := Upstreams{Resolver: netguardtest.DNS{"api.na1.insightly.com": {"8.8.8.8"}}}
	for _, addr := range []string{"api.na1.insightly.com:80", "example.com:443", "127.0.0.1:443"} {
		if _, err := p.dial(context.Background(), "tcp", addr); !errors.Is(err, element.ErrUpstreamNotAllowed) {
			t.Errorf("dial %s: %v", addr, err)
		}
	}
}

// A client of an allowed host follows redirects within that host only.
func TestUpstreamRedirects(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer elsewhere.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v3.1/Users/Me":
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
		case "/v3.1/Moved":
			http.Redirect(w, r, "/v3.1/Here", http.StatusMovedPermanently)
		case "/v3.1/Here":
			w.Write([]byte(`[]`))
		}
	}))
	defer upstream.Close()
	// Both are allowed: the redirect is refused for leaving the host, not
	// for where it goes.
	allow, _ := netguard.ParseAllowList(upstream.Listener.Addr().String() + "," + elsewhere.Listener.Addr().String())
	c, err := New(Config{APIKey: "k", BaseURL: upstream.URL, HTTPClient: Upstreams{Allow: allow}.Client(5 * time.Second),
		Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), "GET", "Users/Me", nil, nil)
	if !errors.Is(err, element.ErrUpstreamNotAllowed) || !strings.Contains(err.Error(), "redirected to another host") {
		t.Errorf("cross-host redirect: %v", err)
	}
	if reached.Load() != 0 {
		t.Error("the redirect target was reached")
	}
	if msg := hubError(err).Error(); !strings.Contains(msg, "redirected to another host") {
		t.Errorf("hub message %q", msg)
	}
	if _, err := c.Do(context.Background(), "GET", "Moved", nil, nil); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}

// A response over MaxResponse fails at once, without retries.
func TestUpstreamResponseCap(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	big := strings.Repeat("x", 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write([]byte(`["`))
		for range MaxResponse>>20 + 1 {
			w.Write([]byte(big))
		}
		w.Write([]byte(`"]`))
	}))
	defer srv.Close()
	c, _ := New(Config{APIKey: "k", BaseURL: srv.URL, Backoff: func(int) time.Duration { return 0 }})
	_, err := c.Do(context.Background(), "GET", "Contacts", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls; an oversized answer is not retried", calls.Load())
	}
}

func TestOpenRefusesUpstreamsNotAllowed(t *testing.T) {
	t.Parallel()
	el := NewElement(Options{})
	for cfg, field := range map[[2]string]string{
		{"", "http://127.0.0.1:8080/v3.1"}:                  "configuration.base.url",
		{"", "https://api.na1.insightly.com.evil.example"}:  "configuration.base.url",
		{"https://evil.example/#api.na1.insightly.com", ""}: "configuration.insightly.pod",
	} {
		_, err := el.Open(map[string]string{ConfigPassword: "k", ConfigPod: cfg[0], ConfigBaseURL: cfg[1]})
		if err == nil || element.StatusOf(err) != 400 || !strings.HasPrefix(err.Error(), field) {
			t.Errorf("%v: %v", cfg, err)
		}
	}
	for _, ok := range [][2]string{{"eu1", ""}, {"https://api.eu1.insightly.com/v3.1", ""}, {"", "https://api.au1.insightly.com"}, {"", ""}} {
		if _, err := el.Open(map[string]string{ConfigPassword: "k", ConfigPod: ok[0], ConfigBaseURL: ok[1]}); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}
