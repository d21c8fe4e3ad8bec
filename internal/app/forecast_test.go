package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

type quotaJSON struct {
	Account        string   `json:"account"`
	MetricsLabel   string   `json:"metricsLabel"`
	Limit          *int     `json:"limit"`
	Remaining      int      `json:"remaining"`
	ForecastPerDay *float64 `json:"forecastPerDay"`
	Reserve        *float64 `json:"reserve"`
	Stretch        *float64 `json:"stretch"`
	PausedUntil    string   `json:"pausedUntil"`
	Pace           string   `json:"pace"`
	ExceedsLimit   bool     `json:"exceedsLimit"`
	Message        string   `json:"message"`
}

// quotaOf reads an instance's quota status once its limit is known and
// cond holds.
func (h *harness) quotaOf(id int64, what string, cond func(q quotaJSON) bool) quotaJSON {
	h.t.Helper()
	var q quotaJSON
	eventually(h.t, what, func() bool {
		resp, out := h.call("GET", fmt.Sprintf("/instances/%d/polls", id), h.platform(), nil)
		var st struct {
			Quota *quotaJSON `json:"quota"`
		}
		json.Unmarshal(out, &st)
		if resp.StatusCode != 200 || st.Quota == nil || st.Quota.Limit == nil || *st.Quota.Limit == 0 {
			return false
		}
		q = *st.Quota
		return cond(q)
	})
	return q
}

func pollerConfig(resources ...string) map[string]any {
	cfg := map[string]any{}
	for _, r := range resources {
		cfg[r] = map[string]any{}
	}
	return map[string]any{"event.poller.configuration": cfg}
}

// The poll status forecasts the account's calls per day from the
// configuration of every instance using it: adding a resource grows it;
// the reserve is --quota-reserve and the stretch 1; the gauges say the
// same.
func TestQuotaForecastGrows(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withFlags(t, "--quota-reserve=35%"))
	in, _ := h.create(h.instanceBody("Forecast", pollerConfig("contacts")))
	first := h.quotaOf(in.ID, "a forecast", func(q quotaJSON) bool { return q.ForecastPerDay != nil && *q.ForecastPerDay > 0 })
	// Every 5 minutes, one page or more: 288 calls a day at least.
	if *first.ForecastPerDay < 288 || first.Reserve == nil || *first.Reserve != 0.35 || first.Stretch == nil || *first.Stretch != 1 ||
		first.ExceedsLimit || first.Message != "" {
		t.Errorf("one resource: %+v (forecast %v)", first, *first.ForecastPerDay)
	}
	resp, out := h.call("PATCH", fmt.Sprintf("/instances/%d", in.ID), h.platform(),
		map[string]any{"configuration": pollerConfig("contacts", "leads")})
	want(t, resp, out, 200, "")
	second := h.quotaOf(in.ID, "a larger forecast", func(q quotaJSON) bool {
		return q.ForecastPerDay != nil && *q.ForecastPerDay >= *first.ForecastPerDay+288
	})
	// Another instance on the same account counts too.
	other, _ := h.create(h.instanceBody("Same account", pollerConfig("contacts")))
	third := h.quotaOf(in.ID, "the other instance in the forecast", func(q quotaJSON) bool {
		return *q.ForecastPerDay >= *second.ForecastPerDay+288
	})
	if o := h.quotaOf(other.ID, "the other instance's forecast", func(q quotaJSON) bool { return true }); o.Account != third.Account {
		t.Fatalf("accounts differ: %q, %q", o.Account, third.Account)
	}

	eventually(t, "the forecast gauges", func() bool {
		samples := h.scrape()
		f, ok := samples[`pollhook_upstream_quota_forecast_per_day{account="`+third.MetricsLabel+`"}`]
		s, ok2 := samples[`pollhook_upstream_quota_stretch{account="`+third.MetricsLabel+`"}`]
		return ok && ok2 && f >= *second.ForecastPerDay+288 && s == 1
	})
}

// A configuration that alone would spend more than the account's daily
// limit is still accepted; its status says so.
func TestQuotaForecastExceedsLimit(t *testing.T) {
	t.Parallel()
	h := newHarnessSim(t, sim.Config{Records: 30, Seed: 11, RateLimit: -1, DailyQuota: 200})
	in, _ := h.create(h.instanceBody("Too busy", pollerConfig("contacts", "leads")))
	q := h.quotaOf(in.ID, "exceedsLimit", func(q quotaJSON) bool { return q.ExceedsLimit })
	if *q.Limit != 200 || *q.ForecastPerDay < 576 || !strings.Contains(q.Message, "200") {
		t.Errorf("quota: %+v", q)
	}
	// Changing it is accepted too.
	resp, out := h.call("PATCH", fmt.Sprintf("/instances/%d", in.ID), h.platform(),
		map[string]any{"configuration": pollerConfig("contacts", "leads", "organisations")})
	want(t, resp, out, 200, "")
}

// Once the account's quota is down to the reserve its polls pause until
// the reset: a run asked for is refused with 409 and the reason; a
// backfill is accepted and waits.
func TestRunNowAtTheReserve(t *testing.T) {
	t.Parallel()
	// A quota of 10 with 90% reserved: the first run leaves 9 or less.
	h := newHarnessSim(t, sim.Config{Records: 5, Seed: 12, RateLimit: -1, DailyQuota: 10}, withFlags(t, "--quota-reserve=90%"))
	in, _ := h.create(h.instanceBody("Reserved", pollerConfig("contacts")))
	q := h.quotaOf(in.ID, "the pause at the reserve", func(q quotaJSON) bool { return q.PausedUntil != "" })
	if !strings.Contains(q.Pace, "90%") || !strings.Contains(q.Pace, q.PausedUntil) {
		t.Errorf("the pace at the reserve: %+v", q)
	}
	resp, out := h.call("POST", fmt.Sprintf("/instances/%d/polls/run", in.ID), h.platform(), nil)
	want(t, resp, out, 409, "down to the reserve left to its other apps until "+q.PausedUntil)
	resp, out = h.call("POST", fmt.Sprintf("/instances/%d/polls/contacts/run", in.ID), h.platform(),
		map[string]any{"backfillFrom": "2025-01-01T00:00:00Z"})
	want(t, resp, out, 202, "")
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/polls", in.ID), h.platform(), nil)
	if want(t, resp, out, 200, ""); !strings.Contains(string(out), `"nextRunAt":"`+q.PausedUntil+`"`) || !strings.Contains(string(out), `"runRequested":true`) {
		t.Errorf("the backfill does not wait for the reset: %s", out)
	}

	// The console says the same.
	c := newConsoleClient(t, strings.TrimSuffix(h.base, "/elements/api-v2"))
	if status, _, _ := c.do("POST", "/signin", url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}}); status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", status)
	}
	if _, _, page := c.do("GET", fmt.Sprintf("/instances/%d", in.ID), nil); !strings.Contains(page, `id="pace"`) || !strings.Contains(page, "polls pause until "+q.PausedUntil) {
		t.Errorf("the instance page does not say the polls pause:\n%s", page)
	}
	if status, _, page := c.do("POST", fmt.Sprintf("/instances/%d/poll", in.ID), url.Values{}); status != http.StatusConflict ||
		!strings.Contains(page, "down to the reserve") {
		t.Errorf("poll all now at the reserve: %d\n%s", status, page)
	}
}

// --quota-reserve reads a percentage from 0% to 90%, 20% by default; the
// environment variable sets its default; anything else is refused.
func TestQuotaReserveFlag(t *testing.T) {
	parse := func(args ...string) (serverConfig, error) {
		var c serverConfig
		fs := flag.NewFlagSet("pollhook serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		return c, fs.Parse(args)
	}
	t.Setenv("POLLHOOK_QUOTA_RESERVE", "")
	if c, err := parse(); err != nil || c.QuotaReserve != 0.2 {
		t.Errorf("default: %v, %v", c.QuotaReserve, err)
	}
	for arg, want := range map[string]float64{"0%": 0, "35%": 0.35, "90%": 0.9, "12.5": 0.125, " 50 % ": 0.5} {
		if c, err := parse("--quota-reserve=" + arg); err != nil || c.QuotaReserve != want {
			t.Errorf("--quota-reserve=%q: %v, %v; want %v", arg, c.QuotaReserve, err, want)
		}
	}
	for _, arg := range []string{"91%", "-1%", "lots", "", "NaN%", "20%%"} {
		if _, err := parse("--quota-reserve=" + arg); err == nil || !strings.Contains(err.Error(), "0% to 90%") {
			t.Errorf("--quota-reserve=%q: %v", arg, err)
		}
	}
	t.Setenv("POLLHOOK_QUOTA_RESERVE", "40%")
	if c, err := parse(); err != nil || c.QuotaReserve != 0.4 || len(c.envErrs) != 0 {
		t.Errorf("from the environment: %v, %v", c.QuotaReserve, err)
	}
	t.Setenv("POLLHOOK_QUOTA_RESERVE", "95%")
	var stderr strings.Builder
	code := Run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, io.Discard, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), `POLLHOOK_QUOTA_RESERVE="95%" (--quota-reserve): not a percentage from 0% to 90%`) {
		t.Errorf("POLLHOOK_QUOTA_RESERVE=95%%: exit %d, stderr %q", code, stderr.String())
	}
}
