package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
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
