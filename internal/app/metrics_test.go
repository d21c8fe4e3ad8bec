package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// /metrics names no tenant's upstream account: the quota gauge is
// labelled with a keyed hash, which the instance's poll status shows next
// to the account so an operator can tell which is which.
func TestMetricsNameNoAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	in, _ := h.create(h.instanceBody("Metered", nil))
	var st struct {
		Quota *struct {
			Account      string `json:"account"`
			MetricsLabel string `json:"metricsLabel"`
		} `json:"quota"`
	}
	eventually(t, "the account's quota in the status", func() bool {
		resp, out := h.call("GET", fmt.Sprintf("/instances/%d/polls", in.ID), h.platform(), nil)
		json.Unmarshal(out, &st)
		return resp.StatusCode == 200 && st.Quota != nil
	})
	account := st.Quota.Account
	_, subdomain, _ := strings.Cut(account, "/")
	if account == "" || subdomain == "" {
		t.Fatalf("status names account %q", account)
	}
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(st.Quota.MetricsLabel) {
		t.Errorf("status: metricsLabel %q is not 12 hex digits", st.Quota.MetricsLabel)
	}
	var samples map[string]float64
	eventually(t, "the quota gauge", func() bool {
		samples = h.scrape()
		for name := range samples {
			if strings.HasPrefix(name, "pollhook_upstream_quota_remaining{") {
				return true
			}
		}
		return false
	})
	wantSample := `pollhook_upstream_quota_remaining{account="` + st.Quota.MetricsLabel + `"}`
	if _, ok := samples[wantSample]; !ok {
		t.Errorf("no sample %s", wantSample)
	}
	for name := range samples {
		if strings.Contains(name, account) || strings.Contains(name, subdomain) {
			t.Errorf("/metrics names the account: %s", name)
		}
	}
}

// With --metrics-token, /metrics answers only the right bearer token.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "Mt9-metrics-token-Qz7"
	h := newHarness(t, withMetricsToken(token))
	url := strings.TrimSuffix(h.base, "/elements/api-v2") + "/metrics"
	get := func(authz string) (int, string, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
	}
	for _, authz := range []string{"", "Bearer", "Bearer ", "Bearer wrong-token-Xy8", "Bearer " + token + "x", "Bearer " + token[:len(token)-1],
		"Basic " + token, token, "Bearer  " + token + " extra", h.platform()} {
		status, challenge, body := get(authz)
		if status != 401 || !strings.HasPrefix(challenge, "Bearer") {
			t.Errorf("Authorization %q: %d (WWW-Authenticate %q), want 401", authz, status, challenge)
		}
		if strings.Contains(body, "pollhook_") || (len(authz) > 8 && strings.Contains(body, authz[7:])) {
			t.Errorf("Authorization %q: the refusal holds %q", authz, body)
		}
	}
	for _, authz := range []string{"Bearer " + token, "bearer " + token} {
		if status, _, body := get(authz); status != 200 || !strings.Contains(body, "pollhook_records_read_total") {
			t.Errorf("Authorization %q: %d %.80s", authz, status, body)
		}
	}
	h.scrape() // the harness sends the token
	if resp, err := http.Get(strings.TrimSuffix(h.base, "/elements/api-v2") + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp, err)
	}
}
