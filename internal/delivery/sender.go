package delivery

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/netguard"
)

// Sending defaults.
const (
	TimeoutDefault = 15 * time.Second
	snippetMax     = 2048
)

// Sender POSTs notifications. It connects only to public addresses
// (unless told otherwise), checked on the address actually dialled, so
// neither a DNS answer that changed since the URL was accepted nor a
// redirect (which it never follows) can turn it against the network it
// runs in.
type Sender struct {
	client *http.Client
}

// ErrBlocked is a refused destination address.
var ErrBlocked = errors.New("delivery: the callback resolves to an address that is not on the public Internet")

// NewSender makes a sender; allowPrivate accepts loopback and private
// destinations (tests and demos).
func NewSender(allowPrivate bool, timeout time.Duration) *Sender {
	if timeout <= 0 {
		timeout = TimeoutDefault
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		d = netguard.PublicDialer()
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: timeout, ForceAttemptHTTP2: true}
	return &Sender{client: &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Result is one attempt's outcome.
type Result struct {
	Status     int // 0 when no response came
	Latency    time.Duration
	Err        string // transport error, when no response came
	Response   string // the first 2 KB of the body
	RetryAfter time.Duration
}

// OK is a 2xx: delivered.
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Gone is a 410: the receiver asks never to be called again.
func (r Result) Gone() bool { return r.Status == http.StatusGone }

// Send POSTs body with headers to url.
func (s *Sender) Send(ctx context.Context, url string, h http.Header, body []byte) Result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return Result{Err: err.Error()}
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pollhook")
	resp, err := s.client.Do(req)
	res := Result{Latency: time.Since(start)}
	if err != nil {
		res.Err = err.Error()
		if errors.Is(err, netguard.ErrBlocked) {
			res.Err = ErrBlocked.Error()
		}
		return res
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, snippetMax))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	res.Status, res.Response = resp.StatusCode, string(snippet)
	if v := resp.Header.Get("Retry-After"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			res.RetryAfter = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			res.RetryAfter = max(time.Until(t), 0)
		}
	}
	return res
}
