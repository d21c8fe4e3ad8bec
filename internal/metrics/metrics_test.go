package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/store"
)

// The quota gauge labels accounts by a keyed hash: it names no account,
// and two processes with the same keys (two replicas) agree on it.
func TestAccountLabel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accounts := []string{"api.na1.insightly.com/acme", "api.eu1.insightly.com/globex-gmbh", "127.0.0.1:8080/acme"}
	for i, a := range accounts {
		if err := st.SetAccountQuota(ctx, store.Quota{Account: a, Limit: 1000, Remaining: 100 * (i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	spec := seal.NewKey("k1")
	keys1, _ := seal.Parse(spec)
	keys2, _ := seal.Parse(spec + "," + seal.NewKey("old"))
	other, _ := seal.Parse(seal.NewKey("k2"))
	m1 := New(st, keys1.Derive(AccountKeyPurpose))
	m2 := New(st, keys2.Derive(AccountKeyPurpose))
	m3 := New(st, other.Derive(AccountKeyPurpose))

	hex12 := regexp.MustCompile(`^[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, a := range accounts {
		l := m1.AccountLabel(a)
		if !hex12.MatchString(l) || seen[l] {
			t.Errorf("label %q of %q is not 12 hex digits, or not unique", l, a)
		}
		seen[l] = true
		if m2.AccountLabel(a) != l {
			t.Errorf("%q: labels %q and %q from the same keys", a, l, m2.AccountLabel(a))
		}
		if m3.AccountLabel(a) == l {
			t.Errorf("%q: label %q does not depend on the key", a, l)
		}
	}
	if (*Metrics)(nil).AccountLabel("x") != "" {
		t.Error("a nil Metrics labels accounts")
	}

	scrape := func(m *Metrics) string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	out1, out2 := scrape(m1), scrape(m2)
	for i, a := range accounts {
		sample := `pollhook_upstream_quota_remaining{account="` + m1.AccountLabel(a) + `"} ` + []string{"100", "200", "300"}[i]
		if !strings.Contains(out1, sample) || !strings.Contains(out2, sample) {
			t.Errorf("no sample %s in\n%s", sample, out1)
		}
		host, sub, _ := strings.Cut(a, "/")
		for _, part := range []string{a, host, sub, "insightly", "globex"} {
			if strings.Contains(out1, part) {
				t.Errorf("/metrics holds %q", part)
			}
		}
	}
}

func TestRequireToken(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics") })
	srv := httptest.NewServer(RequireToken("s3cret-Tok", ok))
	defer srv.Close()
	get := func(authz string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, authz := range []string{"", "Bearer", "Bearer ", "Bearer s3cret-To", "Bearer s3cret-Tokk", "Bearer  s3cret-Tok", "Basic s3cret-Tok", "s3cret-Tok", "Token s3cret-Tok"} {
		if status, body := get(authz); status != 401 || strings.Contains(body, "metrics\n") || strings.Contains(body, "s3cret") {
			t.Errorf("%q: %d %q", authz, status, body)
		}
	}
	for _, authz := range []string{"Bearer s3cret-Tok", "bearer s3cret-Tok", "BEARER s3cret-Tok"} {
		if status, body := get(authz); status != 200 || body != "metrics" {
			t.Errorf("%q: %d %q", authz, status, body)
		}
	}
	if RequireToken("", ok) == nil {
		t.Error("no handler without a token")
	}
}
