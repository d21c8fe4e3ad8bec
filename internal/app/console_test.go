package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/store"
)

// signIn tries an address and password against the data dir's database
// as the console will: through session.Manager.
func signIn(t *testing.T, dir, email, password string) ([]*store.User, error) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "pollhook.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := &session.Manager{Store: st}
	return m.Authenticate(context.Background(), email, password, "192.0.2.1")
}

// The first start gives the first user a console password, written to
// the credentials file beside the API secrets, and stores only its hash.
func TestFirstStartConsolePassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, stop := runServeCommand(t, io.Discard, "--data-dir", dir)
	stop()
	creds, err := readCredentials(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	if creds.Email != "admin@pollhook.local" || creds.ConsolePassword == "" {
		t.Fatalf("credentials %+v", creds)
	}
	users, err := signIn(t, dir, creds.Email, creds.ConsolePassword)
	if err != nil || len(users) != 1 || users[0].OrgName != "default" {
		t.Fatalf("sign in with the first password: %v %v", users, err)
	}
	if strings.Contains(users[0].PasswordHash, creds.ConsolePassword) || !auth.CheckPassword(users[0].PasswordHash, creds.ConsolePassword) {
		t.Error("the password is not stored as its hash")
	}
	if _, err := signIn(t, dir, creds.Email, "wrong"); !errors.Is(err, session.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
}

func TestUsersConsolePasswords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, stop := runServeCommand(t, io.Discard, "--data-dir", dir)
	stop()
	run := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var out, stderr strings.Builder
		ctx := withStdin(context.Background(), strings.NewReader(stdin))
		code := Run(ctx, append(args, "--data-dir", dir), &out, &stderr)
		return code, out.String(), stderr.String()
	}
	generated := regexp.MustCompile(`console password:\s+(\S+)`)

	// users create generates a password and prints it once...
	code, out, errOut := run("", "users", "create", "--email", "ada@example.com")
	m := generated.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("users create: %d %q %q", code, out, errOut)
	}
	if _, err := signIn(t, dir, "ada@example.com", m[1]); err != nil {
		t.Errorf("the generated password: %v", err)
	}
	// ...or reads it from standard input, and never prints it.
	code, out, errOut = run("my own pass\n", "users", "create", "--email", "ada@example.com", "--new-organization", "Globex", "--password-stdin")
	if code != 0 || strings.Contains(out+errOut, "my own pass") || !strings.Contains(out, "standard input") {
		t.Fatalf("users create --password-stdin: %d %q %q", code, out, errOut)
	}
	if users, err := signIn(t, dir, "ADA@example.com", "my own pass"); err != nil || len(users) != 1 || users[0].OrgName != "Globex" {
		t.Errorf("the password from stdin: %v %v", users, err)
	}
	if code, _, errOut := run("", "users", "create", "--email", "bob@example.com", "--organization", "1", "--password-stdin"); code == 0 || !strings.Contains(errOut, "empty") {
		t.Errorf("empty password: %d %q", code, errOut)
	}
	if code, _, errOut := run(strings.Repeat("x", 73), "users", "create", "--email", "bob@example.com", "--organization", "1", "--password-stdin"); code == 0 || !strings.Contains(errOut, "72 bytes") {
		t.Errorf("long password: %d %q", code, errOut)
	}

	// set-password: ada is in two organizations, so one must be named.
	code, _, errOut = run("", "users", "set-password", "--email", "ada@example.com")
	if code == 0 || !strings.Contains(errOut, "--organization") || !strings.Contains(errOut, "default") || !strings.Contains(errOut, "Globex") {
		t.Errorf("ambiguous set-password: %d %q", code, errOut)
	}
	code, out, errOut = run("new pass\n", "users", "set-password", "--email", "ada@example.com", "--organization", "1", "--password-stdin")
	if code != 0 || strings.Contains(out, "new pass") {
		t.Fatalf("set-password: %d %q %q", code, out, errOut)
	}
	if users, err := signIn(t, dir, "ada@example.com", "new pass"); err != nil || len(users) != 1 || users[0].OrgID != 1 {
		t.Errorf("after set-password: %v %v", users, err)
	}
	if _, err := signIn(t, dir, "ada@example.com", m[1]); !errors.Is(err, session.ErrBadCredentials) {
		t.Errorf("the old password still works: %v", err)
	}
	// Generated when not given; the only user with an address needs no --organization.
	code, out, errOut = run("", "users", "set-password", "--email", "admin@pollhook.local")
	if m := generated.FindStringSubmatch(out); code != 0 || m == nil {
		t.Fatalf("set-password, generated: %d %q %q", code, out, errOut)
	} else if _, err := signIn(t, dir, "admin@pollhook.local", m[1]); err != nil {
		t.Errorf("the generated password: %v", err)
	}
	if code, _, errOut := run("", "users", "set-password", "--email", "nobody@example.com"); code == 0 || !strings.Contains(errOut, "no user") {
		t.Errorf("unknown address: %d %q", code, errOut)
	}
}

func TestConsoleFlags(t *testing.T) {
	t.Parallel()
	parse := func(_ map[string]string, args ...string) (serverConfig, error) {
		t.Helper()
		var c serverConfig
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return c, c.consoleSettings()
	}
	c, err := parse(nil, "--public-url", "https://pollhook.example.com/", "--trusted-proxies", "10.0.0.0/8, 192.0.2.7")
	if err != nil || !c.secureCookies || len(c.trustedProxies) != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.4")
	if got := session.ClientAddr(r, c.trustedProxies); got != "203.0.113.4" {
		t.Errorf("client %s", got)
	}
	if c, err := parse(nil, "--public-url", "http://localhost:8080"); err != nil || c.secureCookies || len(c.trustedProxies) != 0 {
		t.Errorf("http: %+v %v", c, err)
	}
	for _, args := range [][]string{{"--trusted-proxies", "10.0.0.0/99"}, {"--trusted-proxies", "proxy.local"}, {"--public-url", "pollhook.example.com"}} {
		if _, err := parse(nil, args...); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v", args, err)
		}
	}
	// serve refuses to start with a bad list, saying why.
	var stderr strings.Builder
	code := Run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--trusted-proxies", "nonsense"}, io.Discard, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "--trusted-proxies") {
		t.Errorf("serve with a bad --trusted-proxies: %d %q", code, stderr.String())
	}
}

// The environment sets both (not parallel: it changes the environment).
func TestConsoleFlagsFromEnvironment(t *testing.T) {
	t.Setenv("POLLHOOK_PUBLIC_URL", "https://console.example.com")
	t.Setenv("POLLHOOK_TRUSTED_PROXIES", "::1,127.0.0.1")
	var c serverConfig
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.flags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.consoleSettings(); err != nil || !c.secureCookies || len(c.trustedProxies) != 2 {
		t.Errorf("%+v %v", c, err)
	}
	srv := &server{cfg: c}
	if m := srv.sessions(); !m.Secure {
		t.Error("the session manager's cookies are not Secure behind an https public URL")
	}
}

// The console refuses a state-changing request from another site, sends
// pages that load nothing from elsewhere, and never answers a page
// without a session.
func TestConsoleHTTPGuards(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := strings.TrimSuffix(h.base, "/elements/api-v2")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := noRedirect.Get(base + "/instances/new")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=%2Finstances%2Fnew" {
		t.Errorf("a page without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, err = noRedirect.Get(base + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("sign-in page headers: CSP %q, Cache-Control %q", csp, resp.Header.Get("Cache-Control"))
	}

	// A sign-in posted from another site's page is refused before the
	// password is even looked at.
	form := url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}}
	req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 || !strings.Contains(string(body), "another site") {
		t.Errorf("a cross-site sign-in: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	// The same from the console's own page signs in, with a cookie
	// scripts cannot read.
	req, _ = http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie, device *http.Cookie
	for _, c := range resp.Cookies() {
		switch c.Name {
		case session.CookieName:
			cookie = c
		case session.DeviceCookieName:
			device = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("a same-site sign-in: %d, cookie %+v", resp.StatusCode, cookie)
	}
	// And with a device cookie (signed with a key derived from the
	// encryption keys) that exempts this browser from the account-wide
	// sign-in budget.
	if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteLaxMode || device.Secure || device.Path != "/" ||
		device.MaxAge != int(session.DeviceTTL/time.Second) {
		t.Errorf("the device cookie: %+v", device)
	}
	// With the session, a cross-site POST that would delete is refused.
	req, _ = http.NewRequest("POST", base+"/instances/1/delete", nil)
	req.AddCookie(cookie)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site delete with a session: %d", resp.StatusCode)
	}
}

// consoleClient is a browser without JavaScript: a cookie jar that does
// not follow redirects, so each answer can be checked.
type consoleClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newConsoleClient(t *testing.T, base string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request as the console's own pages would, and answers the
// status, the Location and the body.
func (c *consoleClient) do(method, path string, form url.Values) (int, string, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// secondOrganization gives the first user's address and password an
// account in a new organization of that name.
func (h *harness) secondOrganization(t *testing.T, name string) *store.Organization {
	t.Helper()
	ctx := context.Background()
	other := &store.Organization{Name: name, SecretHash: auth.Hash(auth.NewSecret())}
	if err := h.srv.store.CreateOrganization(ctx, other); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(h.creds.ConsolePassword)
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{OrgID: other.ID, Email: h.creds.Email, SecretHash: auth.Hash(auth.NewSecret())}
	if err := h.srv.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.store.SetUserPassword(ctx, u.ID, hash); err != nil {
		t.Fatal(err)
	}
	return other
}

// One address in two organizations: the password is accepted, then the
// user picks the organization, and sees only its instances. The pages
// without JavaScript: enable, disable, backfill, delete after a
// confirmation.
func TestConsoleOrganizationsAndActions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	base := strings.TrimSuffix(h.base, "/elements/api-v2")
	in, _ := h.create(h.instanceBody("Default's", nil))

	other := h.secondOrganization(t, "Second org")

	c := newConsoleClient(t, base)
	status, loc, _ := c.do("POST", "/signin", url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}, "next": {"/instances"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin/organization") {
		t.Fatalf("signing in with two organizations: %d %s", status, loc)
	}
	if status, loc, _ := c.do("GET", "/instances", nil); status != http.StatusSeeOther || loc != "/signin/organization" {
		t.Fatalf("a page before choosing: %d %s", status, loc)
	}
	_, _, page := c.do("GET", loc, nil)
	if !strings.Contains(page, "Second org") || !strings.Contains(page, ">default<") {
		t.Fatalf("the choice lists:\n%s", page)
	}
	if status, loc, _ := c.do("POST", "/signin/organization", url.Values{"organization": {fmt.Sprint(other.ID)}}); status != http.StatusSeeOther || loc != "/instances" {
		t.Fatalf("choosing: %d %s", status, loc)
	}
	_, _, page = c.do("GET", "/instances", nil)
	if !strings.Contains(page, "Second org") || strings.Contains(page, "Default&#39;s") || !strings.Contains(page, "No instances yet") {
		t.Fatalf("the second organization's list shows another's instance or the wrong organization:\n%s", page)
	}
	if status, _, _ := c.do("GET", fmt.Sprintf("/instances/%d", in.ID), nil); status != http.StatusNotFound {
		t.Errorf("another organization's instance: %d", status)
	}

	// Back as the default organization's user.
	c.do("POST", "/signout", url.Values{})
	c.do("POST", "/signin", url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}})
	var def store.Organization
	orgs, _ := h.srv.store.Organizations(ctx)
	for _, o := range orgs {
		if o.ID != other.ID {
			def = *o
		}
	}
	c.do("POST", "/signin/organization", url.Values{"organization": {fmt.Sprint(def.ID)}})
	path := fmt.Sprintf("/instances/%d", in.ID)

	if status, loc, _ := c.do("POST", path+"/disable", url.Values{}); status != http.StatusSeeOther || loc != path+"?done=disabled" {
		t.Fatalf("disable: %d %s", status, loc)
	}
	if got := h.onlyInstance("Default's"); !got.Disabled {
		t.Error("the instance is not disabled")
	}
	c.do("POST", path+"/enable", url.Values{})
	if got := h.onlyInstance("Default's"); got.Disabled {
		t.Error("the instance is not enabled again")
	}
	// Poll now and Backfill share a row: each button does its own thing.
	// Poll now with a date typed beside it polls; it starts no backfill.
	if status, loc, body := c.do("POST", path+"/poll", url.Values{"resource": {"contacts"}, "backfillFrom": {"2024-06-01"},
		"action": {"poll"}}); status != http.StatusSeeOther || !strings.Contains(loc, "done=polling") {
		t.Fatalf("poll now with a date typed: %d %s %.300s", status, loc, body)
	}
	if p, err := h.srv.store.GetPoll(ctx, in.ID, "contacts"); err != nil || !p.BackfillFrom.IsZero() {
		t.Errorf("poll now started a backfill: %+v %v", p, err)
	}
	if status, loc, body := c.do("POST", path+"/poll", url.Values{"resource": {"contacts"}, "backfillFrom": {"2025-01-31"},
		"action": {"backfill"}}); status != http.StatusSeeOther || !strings.Contains(loc, "done=backfilling") {
		t.Fatalf("backfill: %d %s %.300s", status, loc, body)
	}
	p, err := h.srv.store.GetPoll(ctx, in.ID, "contacts")
	if err != nil || !p.BackfillFrom.Equal(time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("backfill asked: %+v %v", p, err)
	}
	// A bad date: the instance's page, the error beside the date field,
	// the date kept.
	for _, bad := range []url.Values{
		{"resource": {"contacts"}, "backfillFrom": {"31/01/2025"}, "action": {"backfill"}},
		{"resource": {"contacts"}, "backfillFrom": {"31/01/2025"}}, // no action: a date means a backfill
	} {
		status, _, body := c.do("POST", path+"/poll", bad)
		if status != http.StatusBadRequest || !strings.Contains(body, `id="backfill-contacts-error"`) || !strings.Contains(body, "2025-01-31") ||
			!strings.Contains(body, `value="31/01/2025"`) || !strings.Contains(body, `id="polls"`) {
			t.Errorf("a bad backfill date (%v): %d\n%.2000s", bad, status, body)
		}
	}
	if status, _, body := c.do("POST", path+"/poll", url.Values{"resource": {"contacts"}, "action": {"backfill"}}); status != http.StatusBadRequest ||
		!strings.Contains(body, `id="backfill-contacts-error"`) {
		t.Errorf("a backfill without a date: %d\n%.2000s", status, body)
	}
	_, _, confirm := c.do("GET", path+"/delete", nil)
	if !strings.Contains(confirm, "cannot be undone") || h.countInstances() != 1 {
		t.Fatalf("the confirmation page deleted, or does not ask")
	}
	if status, loc, _ := c.do("POST", path+"/delete", url.Values{}); status != http.StatusSeeOther || loc != "/instances?done=deleted" || h.countInstances() != 0 {
		t.Errorf("delete: %d %s, %d instances left", status, loc, h.countInstances())
	}
}

// Sign-in through the console: failures from many addresses spend the
// account's account-wide budget, so a stranger's browser is told to wait
// (429, Retry-After), but the owner's browser, which keeps the device
// cookie of an earlier sign-in, still gets in.
func TestConsoleSignInThrottle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withFlags(t, "--trusted-proxies", "127.0.0.1,::1"))
	base := strings.TrimSuffix(h.base, "/elements/api-v2")
	owner := newConsoleClient(t, base)
	right := url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}}
	if status, loc, _ := owner.do("POST", "/signin", right); status != http.StatusSeeOther || loc != "/instances" {
		t.Fatalf("first sign-in: %d %s", status, loc)
	}
	stranger := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	from := func(addr string, form url.Values) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := stranger.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	wrong := url.Values{"email": {h.creds.Email}, "password": {"wrong"}}
	for a := range 5 {
		for range 4 { // under the 5 per account and address
			if status, _, _ := from(fmt.Sprintf("198.51.100.%d", a), wrong); status != http.StatusUnauthorized {
				t.Fatalf("attacker %d: %d", a, status)
			}
		}
	}
	// (The server's clock is real: the wait is at most the 30 s refill.)
	status, retry, body := from("192.0.2.50", right)
	if secs, _ := strconv.Atoi(retry); status != http.StatusTooManyRequests || secs < 1 || secs > 30 ||
		!strings.Contains(body, "Too many sign-in attempts") {
		t.Errorf("a stranger's browser with the budget spent: %d Retry-After %q", status, retry)
	}
	if status, loc, _ := owner.do("POST", "/signin", right); status != http.StatusSeeOther || loc != "/instances" {
		t.Errorf("the owner's browser: %d %s", status, loc)
	}
}

// Behind a trusted proxy that says the client used HTTPS, a console whose
// --public-url is not https (so its cookies are not Secure) says so in
// its log, once; X-Forwarded-Proto from an untrusted peer is not believed.
func TestConsoleWarnsOfInsecureCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		trusted string
		warn    bool
	}{{"trusted proxy", "127.0.0.1,::1", true}, {"untrusted peer", "192.0.2.1", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withFlags(t, "--trusted-proxies", tc.trusted))
			base := strings.TrimSuffix(h.base, "/elements/api-v2")
			form := url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}}
			for range 2 {
				req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				req.Header.Set("X-Forwarded-Proto", "https")
				resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("sign-in: %d", resp.StatusCode)
				}
			}
			if n := strings.Count(h.logs.String(), "not marked Secure"); n != map[bool]int{true: 1, false: 0}[tc.warn] {
				t.Errorf("%d warnings, want warn=%v:\n%s", n, tc.warn, h.logs.String())
			}
		})
	}
}

// fieldError is the text of the form's error beside an input ("" when
// none), as the form places it: <p class="field-error" id="INPUT-error">.
func fieldError(page, input string) string {
	m := regexp.MustCompile(`<p class="field-error" id="` + regexp.QuoteMeta(input) + `-error">([^<]*)</p>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// The instance form's refusals, without a browser: an API key Insightly
// refuses is shown beside the key with everything typed kept, and nothing
// is stored; editing an instance's pod or API URL with the key left blank
// is refused beside the key (it must be given again: a stored key only
// goes to the host it was entered for), and the instance is unchanged.
func TestConsoleFormRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := strings.TrimSuffix(h.base, "/elements/api-v2")
	c := newConsoleClient(t, base)
	if status, loc, _ := c.do("POST", "/signin", url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}}); status != http.StatusSeeOther {
		t.Fatalf("signing in: %d %s", status, loc)
	}
	form := func(name, apiKey string) url.Values {
		return url.Values{"name": {name}, "username": {"ada@example.com"}, "apiKey": {apiKey}, "pod": {"url"}, "baseUrl": {h.simURL},
			"events": {"on"}, "callbackUrl": {h.hook}, "interval": {"15"}, "shown": {"contacts"}, "resource": {"contacts"},
			"pollerConfig": {"{}"}, "tags": {"typed, kept"}}
	}

	// A key the simulator does not know.
	status, _, page := c.do("POST", "/instances/new", form("Wrong key", "not-a-key-it-knows"))
	if status != http.StatusBadRequest || !strings.Contains(fieldError(page, "apiKey"), "refused") {
		t.Fatalf("a refused API key: %d, beside the key %q\n%.3000s", status, fieldError(page, "apiKey"), page)
	}
	for _, kept := range []string{`value="Wrong key"`, `value="ada@example.com"`, `value="` + h.simURL + `"`, `value="typed, kept"`, `value="` + h.hook + `"`} {
		if !strings.Contains(page, kept) {
			t.Errorf("the refused form lost %s", kept)
		}
	}
	if n := h.countInstances(); n != 0 {
		t.Fatalf("a refused key stored %d instances", n)
	}

	// The host-change rule: the pod, or another API URL, without the key.
	in, _ := h.create(h.instanceBody("Hosted", nil))
	before := h.onlyInstance("Hosted").Configuration
	edit := fmt.Sprintf("/instances/%d/edit", in.ID)
	for _, change := range []url.Values{
		{"pod": {"eu1"}, "baseUrl": {""}},
		{"baseUrl": {"https://api.au1.insightly.com/v3.1"}},
	} {
		f := form("Hosted", "")
		f.Set("hasKey", "1")
		for k, v := range change {
			f[k] = v
		}
		status, _, page := c.do("POST", edit, f)
		if msg := fieldError(page, "apiKey"); status != http.StatusBadRequest || !strings.Contains(msg, "given again") {
			t.Errorf("editing %v without the key: %d, beside the key %q\n%.3000s", change, status, msg, page)
		}
		if v := f.Get("baseUrl"); v != "" && !strings.Contains(page, `value="`+v+`"`) {
			t.Errorf("the refused edit lost the API URL typed, %s", v)
		}
		after := h.onlyInstance("Hosted").Configuration
		if fmt.Sprint(after) != fmt.Sprint(before) { // fmt prints maps sorted by key
			t.Errorf("a refused edit (%v) changed the instance:\n%v\nwas\n%v", change, after, before)
		}
	}
}

// The instances page shows 50 instances at a time, says which of how
// many, and links to the pages around it, with the search kept: each row
// reads its polls' status, so an organization of thousands does not make
// one page of thousands.
func TestConsoleInstancesInPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := strings.TrimSuffix(h.base, "/elements/api-v2")
	for i := range 55 {
		name := fmt.Sprintf("Paged %02d", i)
		if i%2 == 1 {
			name = fmt.Sprintf("Odd %02d", i)
		}
		h.create(h.instanceBody(name, map[string]any{"event.notification.enabled": false}))
	}
	c := newConsoleClient(t, base)
	if status, _, _ := c.do("POST", "/signin", url.Values{"email": {h.creds.Email}, "password": {h.creds.ConsolePassword}}); status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", status)
	}
	rows := func(page string) int { return strings.Count(page, "<tr data-instance=") }
	_, _, first := c.do("GET", "/instances", nil)
	if n := rows(first); n != 50 || !strings.Contains(first, "1–50 of 55") || !strings.Contains(first, `href="/instances?page=2"`) ||
		strings.Contains(first, `rel="prev"`) {
		t.Fatalf("the first page: %d rows\n%.3000s", n, first)
	}
	_, _, second := c.do("GET", "/instances?page=2", nil)
	if n := rows(second); n != 5 || !strings.Contains(second, "51–55 of 55") || !strings.Contains(second, `href="/instances?page=1"`) ||
		strings.Contains(second, `rel="next"`) || !strings.Contains(second, "Odd 53") {
		t.Fatalf("the second page: %d rows\n%.3000s", n, second)
	}
	// A search small enough for one page has no pager; a page beyond the
	// last shows the last.
	_, _, odd := c.do("GET", "/instances?q=odd", nil)
	if n := rows(odd); n != 27 || strings.Contains(odd, `class="pager"`) || strings.Contains(odd, "Paged 00") {
		t.Errorf("searching odd: %d rows", n)
	}
	_, _, beyond := c.do("GET", "/instances?page=9", nil)
	if n := rows(beyond); n != 5 || !strings.Contains(beyond, "51–55 of 55") {
		t.Errorf("page 9 of 2: %d rows", n)
	}
}
