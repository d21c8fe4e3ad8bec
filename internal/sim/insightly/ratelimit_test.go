package insightly

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestRateLimitHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 1})
	prev := 60000
	for _, p := range []string{"/v3.1/Contacts", "/v3.1/Nothing", "/v3.1/Tickets", "/v3.1/Contacts/1"} {
		resp, _ := b.do(t, "GET", p, nil)
		if resp.Header.Get("X-RateLimit-Limit") != "60000" {
			t.Errorf("%s: X-RateLimit-Limit = %q", p, resp.Header.Get("X-RateLimit-Limit"))
		}
		rem, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
		if err != nil || rem != prev-1 {
			t.Errorf("%s: X-RateLimit-Remaining = %q, want %d", p, resp.Header.Get("X-RateLimit-Remaining"), prev-1)
		}
		prev = rem
	}
}

func TestPerSecondTokenBucket(t *testing.T) {
	t.Parallel()
	wall := NewManualClock(t0)
	_, b := setup(t, Config{RateLimit: 2, Burst: 3, WallNow: wall.Now})
	for range 3 {
		resp, body := b.do(t, "GET", "/v3.1/Users/Me", nil)
		wantStatus(t, resp, body, 200)
	}
	resp, body := b.do(t, "GET", "/v3.1/Users/Me", nil)
	wantStatus(t, resp, body, 429)
	if resp.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", resp.Header.Get("Retry-After"))
	}
	// A burst 429 leaves quota: Remaining is still above 0, and it was not counted.
	if resp.Header.Get("X-RateLimit-Remaining") != "59997" {
		t.Errorf("Remaining on a burst 429 = %q, want 59997", resp.Header.Get("X-RateLimit-Remaining"))
	}
	wall.Advance(500 * time.Millisecond) // one token at 2/s
	resp, body = b.do(t, "GET", "/v3.1/Users/Me", nil)
	wantStatus(t, resp, body, 200)
	resp, body = b.do(t, "GET", "/v3.1/Users/Me", nil)
	wantStatus(t, resp, body, 429)

	// Some clients meet 429s without Retry-After.
	b.sim.SetFaults(Faults{OmitRetryAfter: true})
	resp, _ = b.do(t, "GET", "/v3.1/Users/Me", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
		t.Errorf("OmitRetryAfter: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestDailyQuota(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{DailyQuota: 5})
	b.clock.Set(time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC))
	for i := range 5 {
		resp, body := b.do(t, "GET", "/v3.1/Instance", nil)
		wantStatus(t, resp, body, 200)
		if got := resp.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(4-i) {
			t.Errorf("request %d: Remaining %s", i, got)
		}
	}
	for range 2 {
		resp, body := b.do(t, "GET", "/v3.1/Instance", nil)
		wantStatus(t, resp, body, 429)
		if resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("X-RateLimit-Limit") != "5" {
			t.Errorf("quota 429 headers: %v", resp.Header)
		}
		if resp.Header.Get("Retry-After") != "60" { // until midnight UTC on the upstream clock
			t.Errorf("quota Retry-After = %q, want 60", resp.Header.Get("Retry-After"))
		}
	}
	b.clock.Advance(time.Minute)
	resp, body := b.do(t, "GET", "/v3.1/Instance", nil)
	wantStatus(t, resp, body, 200)
	if resp.Header.Get("X-RateLimit-Remaining") != "4" {
		t.Errorf("after reset Remaining = %q", resp.Header.Get("X-RateLimit-Remaining"))
	}
}

func TestPlanQuotas(t *testing.T) {
	t.Parallel()
	for plan, want := range map[string]string{"Gratis": "1000", "Plus": "40000", "Professional": "60000", "Enterprise": "100000"} {
		_, b := setup(t, Config{Plan: plan})
		resp, _ := b.do(t, "GET", "/v3.1/Instance", nil)
		if resp.Header.Get("X-RateLimit-Limit") != want {
			t.Errorf("%s: limit %q, want %s", plan, resp.Header.Get("X-RateLimit-Limit"), want)
		}
	}
}

func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{MaxConcurrent: 2})
	b.sim.SetFaults(Faults{Latency: Duration(time.Second)})
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for range 5 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", b.srv.URL+"/v3.1/Instance", nil)
			req.Header.Set("Authorization", basic(b.key))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[200] != 2 || count[429] != 3 {
		t.Errorf("5 concurrent requests with max 2 in flight: %v", count)
	}
}
