// Package insightly is pollhook's Insightly element: a careful client of
// the Insightly REST API v3.1 and the Cloud Elements CRM hub mapped onto it.
package insightly

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/element"
)

// Client defaults.
const (
	DefaultBaseURL    = "https://api.na1.insightly.com/v3.1"
	TimeoutDefault    = 30 * time.Second
	MaxRetriesDefault = 5
	// MaxResponse bounds a response body, so a broken or hostile upstream
	// cannot exhaust memory: Insightly's largest page, 500 records of a
	// wide object with custom fields, is a few MiB.
	MaxResponse = 16 << 20
)

// Config configures a Client.
type Config struct {
	// APIKey is the Insightly user's API key (User Settings → API).
	APIKey string
	// Pod is the user's pod, e.g. "na1", "eu1"; used when BaseURL is empty.
	Pod string
	// BaseURL is the full API URL, e.g. https://api.eu1.insightly.com/v3.1.
	BaseURL string
	// HTTPClient sends the requests; default a client with TimeoutDefault.
	HTTPClient *http.Client
	// Limiter paces requests; share one per Insightly account (see Limits).
	// Default: a private limiter with the default rates.
	Limiter *Limiter
	// MaxRetries bounds retries of one call after 429, 5xx and network
	// errors; default MaxRetriesDefault, negative for none.
	MaxRetries int
	// Backoff is the wait before retry attempt n (0-based) when Insightly
	// gives no Retry-After; default exponential from 500ms, capped at 30s,
	// with jitter.
	Backoff func(attempt int) time.Duration
	// Sleep waits; tests replace it. Default: a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxRetryWait is the longest Retry-After waited out in place; a longer
	// one fails the call with the time to come back (Error.RetryAt), so a
	// background job can snooze instead of holding a worker. Default 30 s.
	MaxRetryWait time.Duration
	// Now is our clock, used when a response has no Date header.
	Now func() time.Time
}

// Client calls one Insightly account with one API key. It is safe for
// concurrent use.
type Client struct {
	base       *url.URL
	auth       string
	http       *http.Client
	limiter    *Limiter
	maxRetries int
	backoff    func(int) time.Duration
	sleep      func(context.Context, time.Duration) error
	now        func() time.Time
	maxWait    time.Duration

	resMu    sync.Mutex
	reserved *lease // held for the next request; nil when none
}

// New checks cfg and returns a client. It makes no request.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("insightly: an API key is required")
	}
	base, err := ResolveBaseURL(cfg.Pod, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:       base,
		auth:       "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.APIKey+":")),
		http:       cfg.HTTPClient,
		limiter:    cfg.Limiter,
		maxRetries: cfg.MaxRetries,
		backoff:    cfg.Backoff,
		sleep:      cfg.Sleep,
		now:        cfg.Now,
		maxWait:    cfg.MaxRetryWait,
	}
	if c.maxWait <= 0 {
		c.maxWait = 30 * time.Second
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: TimeoutDefault}
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(0, 0)
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = MaxRetriesDefault
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.backoff == nil {
		c.backoff = defaultBackoff
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// BaseURL is the API root the client calls, e.g. https://api.na1.insightly.com/v3.1.
func (c *Client) BaseURL() string { return c.base.String() }

// Limiter is the limiter pacing this client.
func (c *Client) Limiter() *Limiter { return c.limiter }

// errTooLarge is a response over MaxResponse.
var errTooLarge = errors.New("insightly: response too large")

// Reserve takes, without waiting, an in-flight slot and a rate token of
// the account for this client's next request, which then goes out without
// queueing. When the account has none free right now it takes nothing,
// and says how long until a token frees (0: the slots are taken, and when
// one frees is up to the upstream), so that a background job can give its
// worker back instead of waiting. A reservation no request used must be
// given back with Release. While the daily quota is spent Reserve holds
// nothing and says ok: the request fails at once with *QuotaError.
func (c *Client) Reserve() (ok bool, retryIn time.Duration) {
	c.resMu.Lock()
	defer c.resMu.Unlock()
	if c.reserved != nil {
		return true, 0
	}
	ls, ok, retryIn := c.limiter.tryAcquire()
	c.reserved = ls
	return ok, retryIn
}

// Release gives back a reservation that no request used. It is safe to
// call at any time, any number of times.
func (c *Client) Release() {
	c.resMu.Lock()
	defer c.resMu.Unlock()
	if c.reserved != nil {
		c.reserved.unreserve()
		c.reserved = nil
	}
}

// takeReservation hands the reservation, if any, to the request about to
// be sent, nil if none; that request releases it as usual.
func (c *Client) takeReservation() *lease {
	c.resMu.Lock()
	defer c.resMu.Unlock()
	ls := c.reserved
	c.reserved = nil
	return ls
}

var (
	podPattern = regexp.MustCompile(`^[a-z0-9]+$`)
	// podInURL is a pod pasted as its API URL: the whole value must be
	// Insightly's API host, optionally with scheme, port 443 and a path.
	podInURL    = regexp.MustCompile(`^(?:https://)?api\.([a-z0-9]+)\.insightly\.com(?::443)?(?:/[^?#]*)?$`)
	versionPath = regexp.MustCompile(`/v\d+(\.\d+)?$`)
)

// ResolveBaseURL turns a pod ("na1") or a full API URL into the API root.
// A URL without a version path gets /v3.1; a pod pasted as a URL works too.
// With neither, it is DefaultBaseURL.
func ResolveBaseURL(pod, full string) (*url.URL, error) {
	full, pod = strings.TrimSpace(full), strings.ToLower(strings.TrimSpace(pod))
	if full == "" && pod != "" {
		if m := podInURL.FindStringSubmatch(pod); m != nil {
			pod = m[1]
		}
		if !podPattern.MatchString(pod) {
			return nil, fmt.Errorf("insightly: pod %q is not a pod name like \"na1\" or \"eu1\"", pod)
		}
		full = "https://api." + pod + ".insightly.com/v3.1"
	}
	if full == "" {
		full = DefaultBaseURL
	}
	u, err := url.Parse(full)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("insightly: base URL %q is not an http(s) URL", full)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("insightly: base URL %q must not carry a query, fragment or credentials", full)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if !versionPath.MatchString(u.Path) {
		u.Path += "/v3.1"
	}
	return u, nil
}

// Response is a successful answer with what pollhook needs from its headers.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Date is the upstream clock when it answered (the Date header, else our
	// clock): the poller takes its cursor from it, never from ours.
	Date time.Time
	// TotalCount is X-Total-Count, or -1 when absent.
	TotalCount int
}

// Do sends one request to path (relative to the base URL, e.g.
// "Contacts/Search") and returns the 2xx response. It paces requests
// through the limiter, retries 429 (honouring Retry-After, or backing off)
// and, for idempotent methods, 5xx and network errors; a spent daily quota
// fails at once with *QuotaError. Other statuses are *Error.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body []byte) (*Response, error) {
	u := *c.base
	u.Path = c.base.Path + "/" + strings.TrimLeft(path, "/")
	u.RawQuery = query.Encode()
	where := "/" + strings.TrimLeft(path, "/")
	if u.RawQuery != "" {
		where += "?" + u.RawQuery
	}
	idempotent := method != http.MethodPost

	for attempt := 0; ; attempt++ {
		var ls *lease
		if attempt == 0 {
			ls = c.takeReservation()
		}
		if ls == nil {
			var err error
			if ls, err = c.limiter.acquire(ctx, c.sleep); err != nil {
				return nil, err
			}
		}
		resp, err := c.send(ctx, method, u.String(), body)
		ls.release()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// A POST may have been applied before the connection broke:
			// retrying it could create the record twice. A refused
			// destination or an oversized answer will not change.
			if !idempotent || attempt >= c.maxRetries || errors.Is(err, element.ErrUpstreamNotAllowed) || errors.Is(err, errTooLarge) {
				return nil, &Error{Method: method, Path: where, kind: ErrUnavailable, cause: err}
			}
			if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		limit, remaining := headerInt(resp.Header, "X-RateLimit-Limit"), headerInt(resp.Header, "X-RateLimit-Remaining")
		c.limiter.observe(limit, remaining, resp.Date.Sub(c.now()))

		switch s := resp.Status; {
		case s >= 200 && s < 300:
			return resp, nil
		case s == http.StatusTooManyRequests && remaining == 0:
			wait := retryAfter(resp.Header)
			if wait <= 0 {
				// Insightly's quota day ends at midnight UTC on its clock.
				wait = resp.Date.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(resp.Date)
			}
			// On our clock: the limiter compares with it, and the two may differ.
			reset := c.now().Add(wait)
			c.limiter.Exhaust(limit, reset)
			return nil, &QuotaError{Limit: limit, Reset: reset}
		case s == http.StatusTooManyRequests && attempt < c.maxRetries:
			// Refused before any work, so safe to retry whatever the method.
			wait := retryAfter(resp.Header)
			if wait <= 0 {
				wait = c.backoff(attempt)
			}
			c.limiter.pause(c.now().Add(wait))
			if wait > c.maxWait {
				return nil, &Error{Method: method, Path: where, Status: resp.Status, Message: messageOf(resp.Body),
					Date: resp.Date, RetryAt: c.now().Add(wait), kind: ErrRateLimited}
			}
			continue
		case s >= 500 && idempotent && attempt < c.maxRetries:
			if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		case s == http.StatusNotFound && method == http.MethodDelete && attempt > 0:
			// An earlier attempt deleted it and its answer was lost.
			return resp, nil
		}
		return nil, &Error{Method: method, Path: where, Status: resp.Status, Message: messageOf(resp.Body),
			Date: resp.Date, kind: kindOf(resp.Status)}
	}
}

func (c *Client) send(ctx context.Context, method, url string, body []byte) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pollhook")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hr, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hr.Body, MaxResponse+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponse {
		return nil, fmt.Errorf("%w: the response is larger than %d MiB", errTooLarge, MaxResponse>>20)
	}
	resp := &Response{Status: hr.StatusCode, Header: hr.Header, Body: b, Date: c.now(), TotalCount: -1}
	if d, err := http.ParseTime(hr.Header.Get("Date")); err == nil {
		resp.Date = d
	}
	if n := headerInt(hr.Header, "X-Total-Count"); n >= 0 {
		resp.TotalCount = n
	}
	return resp, nil
}

func headerInt(h http.Header, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// retryAfter reads Retry-After as seconds or an HTTP date; 0 if absent.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func defaultBackoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt, 6)
	d = min(d, 30*time.Second)
	// Full jitter on the upper half keeps replicas from retrying in step.
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
