package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

func TestMain(m *testing.M) {
	auth.PasswordCost = auth.MinPasswordCost // bcrypt at its cheapest: these tests hash a lot
	os.Exit(m.Run())
}

func openSQLite(t *testing.T) *store.Store {
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "pollhook.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T) *store.Store {
	s, err := store.Open(context.Background(), testdb.FreshSchema(t, testdb.PostgresURL(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// console is a small sign-in app over a Manager, served over real HTTP.
type console struct {
	t   *testing.T
	st  *store.Store
	m   *session.Manager
	clk *clock
	srv *httptest.Server
}

func newConsole(t *testing.T, st *store.Store, trusted []netip.Prefix) *console {
	clk := &clock{t: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)}
	m := &session.Manager{Store: st, Now: clk.Now, TTL: time.Hour}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		users, err := m.AuthenticateDevice(r.Context(), r.FormValue("email"), r.FormValue("password"),
			session.ClientAddr(r, trusted), session.DeviceCookie(r))
		var te *session.ThrottledError
		switch {
		case errors.As(err, &te):
			w.Header().Set("Retry-After", strconv.Itoa(int(te.RetryAfter/time.Second)))
			http.Error(w, err.Error(), http.StatusTooManyRequests)
			return
		case errors.Is(err, session.ErrBadCredentials):
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if _, err := m.Start(r.Context(), w, users); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		m.RememberDevice(w, r.FormValue("email"))
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		cur, err := m.Current(r)
		if errors.Is(err, session.ErrNoSession) {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		m.Refresh(w, r, cur)
		if cur.Choosing() {
			for _, c := range cur.Choices {
				fmt.Fprintf(w, "choose %d %s\n", c.OrgID, c.OrgName)
			}
			return
		}
		fmt.Fprintf(w, "%s@%s", cur.User.Email, cur.Organization.Name)
	})
	mux.HandleFunc("POST /choose", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.FormValue("org"), 10, 64)
		if err := m.Choose(r.Context(), w, r, id); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.End(r.Context(), w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &console{t: t, st: st, m: m, clk: clk, srv: srv}
}

type reply struct {
	code   int
	body   string
	cookie *http.Cookie
	device *http.Cookie // a new device cookie, if set
	header http.Header
}

func (c *console) do(method, path string, cookie *http.Cookie, form url.Values, header http.Header) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := reply{code: resp.StatusCode, body: string(b), header: resp.Header}
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case session.CookieName:
			out.cookie = ck
		case session.DeviceCookieName:
			out.device = ck
		}
	}
	return out
}

func (c *console) login(email, password string, header http.Header) reply {
	c.t.Helper()
	return c.do("POST", "/login", nil, url.Values{"email": {email}, "password": {password}}, header)
}

// loginFrom signs in from client addr (through a trusted proxy: the
// console must trust loopback) with a device cookie (nil for none).
func (c *console) loginFrom(email, password, addr string, device *http.Cookie) reply {
	c.t.Helper()
	return c.do("POST", "/login", device, url.Values{"email": {email}, "password": {password}},
		http.Header{"X-Forwarded-For": {addr}})
}

func loopback(t *testing.T) []netip.Prefix {
	trusted, err := session.ParseTrusted("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	return trusted
}

// user makes a user of organization org (made if new) with a password ("" for none).
func (c *console) user(org, email, password string) *store.User {
	c.t.Helper()
	ctx := context.Background()
	o := &store.Organization{Name: org, SecretHash: auth.Hash(auth.NewSecret())}
	if err := c.st.CreateOrganization(ctx, o); err != nil {
		c.t.Fatal(err)
	}
	u := &store.User{OrgID: o.ID, Email: email, SecretHash: auth.Hash(auth.NewSecret())}
	if password != "" {
		h, err := auth.HashPassword(password)
		if err != nil {
			c.t.Fatal(err)
		}
		u.PasswordHash = h
	}
	if err := c.st.CreateUser(ctx, u); err != nil {
		c.t.Fatal(err)
	}
	return u
}

func TestSessionsSQLite(t *testing.T) {
	t.Parallel()
	run(t, openSQLite)
}

func TestSessionsPostgres(t *testing.T) {
	t.Parallel()
	testdb.PostgresURL(t)
	run(t, openPostgres)
}

func run(t *testing.T, open func(t *testing.T) *store.Store) {
	t.Run("SignIn", func(t *testing.T) { t.Parallel(); testSignIn(t, open(t)) })
	t.Run("BadCredentials", func(t *testing.T) { t.Parallel(); testBadCredentials(t, open(t)) })
	t.Run("ChooseOrganization", func(t *testing.T) { t.Parallel(); testChoose(t, open(t)) })
	t.Run("Expiry", func(t *testing.T) { t.Parallel(); testExpiry(t, open(t)) })
	t.Run("Throttle", func(t *testing.T) { t.Parallel(); testThrottle(t, open(t)) })
	t.Run("ThrottleDevice", func(t *testing.T) { t.Parallel(); testThrottleDevice(t, open(t)) })
	t.Run("ForwardedFor", func(t *testing.T) { t.Parallel(); testForwardedFor(t, open(t)) })
}

func testSignIn(t *testing.T, st *store.Store) {
	c := newConsole(t, st, nil)
	c.user("Acme", "ada@example.com", "s3cret pass")
	r := c.login("Ada@Example.com", "s3cret pass", nil)
	if r.code != 200 || r.cookie == nil {
		t.Fatalf("sign in: %d %q", r.code, r.body)
	}
	ck := r.cookie
	if !ck.HttpOnly || ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.MaxAge != 3600 {
		t.Errorf("cookie %+v", ck)
	}
	if me := c.do("GET", "/me", ck, nil, nil); me.code != 200 || me.body != "ada@example.com@Acme" {
		t.Fatalf("me: %d %q", me.code, me.body)
	}
	if me := c.do("GET", "/me", nil, nil, nil); me.code != 401 {
		t.Errorf("no cookie: %d", me.code)
	}
	if me := c.do("GET", "/me", &http.Cookie{Name: session.CookieName, Value: "forged"}, nil, nil); me.code != 401 {
		t.Errorf("forged cookie: %d", me.code)
	}
	// Sign out: the cookie is cleared and the old one refused.
	out := c.do("POST", "/logout", ck, nil, nil)
	if out.code != 200 || out.cookie == nil || out.cookie.MaxAge >= 0 || out.cookie.Value != "" {
		t.Fatalf("logout: %d %+v", out.code, out.cookie)
	}
	if me := c.do("GET", "/me", ck, nil, nil); me.code != 401 {
		t.Errorf("old cookie after sign-out: %d %q", me.code, me.body)
	}
	// Secure when asked.
	c.m.Secure = true
	if r := c.login("ada@example.com", "s3cret pass", nil); r.cookie == nil || !r.cookie.Secure {
		t.Errorf("secure cookie: %+v", r.cookie)
	}
}

func testBadCredentials(t *testing.T, st *store.Store) {
	c := newConsole(t, st, nil)
	c.user("Acme", "ada@example.com", "s3cret pass")
	c.user("Bolt", "nopw@example.com", "")
	wrong := c.login("ada@example.com", "wrong", nil)
	unknown := c.login("bob@example.com", "s3cret pass", nil)
	nopw := c.login("nopw@example.com", "", nil)
	for name, r := range map[string]reply{"wrong password": wrong, "unknown user": unknown, "no password": nopw} {
		if r.code != 401 || r.cookie != nil || !strings.Contains(r.body, session.ErrBadCredentials.Error()) {
			t.Errorf("%s: %d %q %+v", name, r.code, r.body, r.cookie)
		}
	}
	if wrong.body != unknown.body {
		t.Errorf("a wrong password and an unknown user answer differently: %q vs %q", wrong.body, unknown.body)
	}
}

func testChoose(t *testing.T, st *store.Store) {
	c := newConsole(t, st, nil)
	ua := c.user("Acme", "ada@example.com", "same pass")
	ub := c.user("Bolt", "ADA@example.com", "same pass")
	uc := c.user("Coil", "ada@example.com", "other pass") // another password: not offered
	outsider := c.user("Dent", "eve@example.com", "same pass")
	r := c.login("ada@example.com", "same pass", nil)
	if r.code != 200 || r.cookie == nil || r.cookie.MaxAge != int(session.ChoosingTTL/time.Second) {
		t.Fatalf("sign in: %d %q %+v", r.code, r.body, r.cookie)
	}
	choosing := r.cookie
	me := c.do("GET", "/me", choosing, nil, nil)
	want := fmt.Sprintf("choose %d Acme\nchoose %d Bolt\n", ua.OrgID, ub.OrgID)
	if me.code != 200 || me.body != want {
		t.Fatalf("choices: %d %q, want %q", me.code, me.body, want)
	}
	for _, org := range []int64{uc.OrgID, outsider.OrgID, 0} {
		if r := c.do("POST", "/choose", choosing, url.Values{"org": {fmt.Sprint(org)}}, nil); r.code != 403 || r.cookie != nil {
			t.Errorf("chose organization %d: %d %q", org, r.code, r.body)
		}
	}
	ch := c.do("POST", "/choose", choosing, url.Values{"org": {fmt.Sprint(ub.OrgID)}}, nil)
	if ch.code != 200 || ch.cookie == nil || ch.cookie.Value == choosing.Value {
		t.Fatalf("choose: %d %q %+v", ch.code, ch.body, ch.cookie)
	}
	if me := c.do("GET", "/me", ch.cookie, nil, nil); me.code != 200 || me.body != "ADA@example.com@Bolt" {
		t.Errorf("after choosing: %d %q", me.code, me.body)
	}
	if me := c.do("GET", "/me", choosing, nil, nil); me.code != 401 {
		t.Errorf("the choosing cookie still works: %d %q", me.code, me.body)
	}
	// A full session cannot choose again.
	if r := c.do("POST", "/choose", ch.cookie, url.Values{"org": {fmt.Sprint(ua.OrgID)}}, nil); r.code != 403 {
		t.Errorf("re-choose: %d", r.code)
	}
}

func testExpiry(t *testing.T, st *store.Store) {
	c := newConsole(t, st, nil)
	c.user("Acme", "ada@example.com", "pw")
	ck := c.login("ada@example.com", "pw", nil).cookie
	if ck == nil {
		t.Fatal("no cookie")
	}
	// Use slides the expiry: 50 minutes, use, 50 minutes, still in.
	c.clk.Add(50 * time.Minute)
	me := c.do("GET", "/me", ck, nil, nil)
	if me.code != 200 || me.cookie == nil || me.cookie.MaxAge != 3600 {
		t.Fatalf("at 50 min: %d %+v", me.code, me.cookie)
	}
	c.clk.Add(50 * time.Minute)
	if me := c.do("GET", "/me", ck, nil, nil); me.code != 200 {
		t.Fatalf("at 100 min, used at 50: %d", me.code)
	}
	// Requests within a minute do not write (nor resend the cookie).
	c.clk.Add(30 * time.Second)
	if me := c.do("GET", "/me", ck, nil, nil); me.code != 200 || me.cookie != nil {
		t.Errorf("within a minute: %d %+v", me.code, me.cookie)
	}
	// An hour of silence ends it.
	c.clk.Add(time.Hour)
	if me := c.do("GET", "/me", ck, nil, nil); me.code != 401 {
		t.Errorf("after an hour idle: %d", me.code)
	}
	if n, err := c.m.Prune(context.Background()); err != nil || n != 1 {
		t.Errorf("prune: %d %v", n, err)
	}
}

func testThrottle(t *testing.T, st *store.Store) {
	c := newConsole(t, st, loopback(t))
	c.m.Throttle = &session.Throttle{PerAddress: 10, PerPair: 5, Window: 15 * time.Minute}
	c.user("Acme", "ada@example.com", "right")
	c.user("Bolt", "bob@example.com", "right")
	// Per account and address: 5 wrong tries, then that address waits,
	// even with the right password.
	for i := range 5 {
		if r := c.loginFrom("ada@example.com", "wrong", "198.51.100.1", nil); r.code != 401 {
			t.Fatalf("try %d: %d", i, r.code)
		}
		c.clk.Add(time.Minute)
	}
	r := c.loginFrom("ada@example.com", "right", "198.51.100.1", nil)
	if r.code != 429 || r.header.Get("Retry-After") != "600" {
		t.Fatalf("6th try: %d Retry-After %q %q", r.code, r.header.Get("Retry-After"), r.body)
	}
	// No lockout: another address still may try, and gets in.
	if r := c.loginFrom("ada@example.com", "wrong", "198.51.100.2", nil); r.code != 401 {
		t.Errorf("another address, wrong password: %d %q", r.code, r.body)
	}
	if r := c.loginFrom("ada@example.com", "right", "198.51.100.2", nil); r.code != 200 || r.cookie == nil {
		t.Errorf("another address: %d %q", r.code, r.body)
	}
	// Another account from the same address is not held up by ada's.
	if r := c.loginFrom("bob@example.com", "right", "198.51.100.1", nil); r.code != 200 {
		t.Errorf("another account: %d %q", r.code, r.body)
	}
	// After the window the first address gets in too.
	c.clk.Add(10 * time.Minute)
	if r := c.loginFrom("ada@example.com", "right", "198.51.100.1", nil); r.code != 200 || r.cookie == nil {
		t.Errorf("after the window: %d %q", r.code, r.body)
	}
	// Per address: 10 tries over any accounts, then refused; another
	// address is not held up.
	c.clk.Add(time.Hour)
	for i := range 10 {
		if r := c.loginFrom(fmt.Sprintf("u%d@example.com", i), "x", "198.51.100.3", nil); r.code != 401 {
			t.Fatalf("address try %d: %d", i, r.code)
		}
	}
	if r := c.loginFrom("bob@example.com", "right", "198.51.100.3", nil); r.code != 429 || r.header.Get("Retry-After") != "900" {
		t.Errorf("11th try from the address: %d Retry-After %q", r.code, r.header.Get("Retry-After"))
	}
	if r := c.loginFrom("bob@example.com", "right", "198.51.100.4", nil); r.code != 200 {
		t.Errorf("another address: %d %q", r.code, r.body)
	}
	c.clk.Add(15 * time.Minute)
	if r := c.loginFrom("bob@example.com", "right", "198.51.100.3", nil); r.code != 200 {
		t.Errorf("address after the window: %d %q", r.code, r.body)
	}
	// Successes use up nothing.
	for i := range 30 {
		if r := c.loginFrom("bob@example.com", "right", "198.51.100.3", nil); r.code != 200 {
			t.Fatalf("success %d: %d", i, r.code)
		}
	}
}

// Many addresses can spend an account's account-wide budget, which slows
// every untrusted client; but never the owner's browser, which carries a
// device cookie from an earlier sign-in. A cookie that is not a valid one
// for the account counts for nothing, and a valid one has its own budget.
func testThrottleDevice(t *testing.T, st *store.Store) {
	c := newConsole(t, st, loopback(t))
	c.m.DeviceKey = []byte("0123456789abcdef0123456789abcdef")
	c.user("Acme", "ada@example.com", "right")
	c.user("Bolt", "bob@example.com", "right")
	home := c.loginFrom("Ada@Example.com", "right", "203.0.113.1", nil)
	dev := home.device
	if home.code != 200 || dev == nil {
		t.Fatalf("sign in: %d %+v", home.code, dev)
	}
	if !dev.HttpOnly || dev.Secure || dev.SameSite != http.SameSiteLaxMode || dev.Path != "/" ||
		dev.MaxAge != int(session.DeviceTTL/time.Second) {
		t.Errorf("device cookie %+v", dev)
	}
	bobs := c.loginFrom("bob@example.com", "right", "203.0.113.2", nil).device

	// drain spends ada's account-wide budget from 5 addresses, 4 wrong
	// tries each (under the per-pair limit).
	drain := func(net int) {
		t.Helper()
		for a := range 5 {
			for range 4 {
				if r := c.loginFrom("ada@example.com", "wrong", fmt.Sprintf("198.51.%d.%d", net, a), nil); r.code != 401 {
					t.Fatalf("attacker %d: %d %q", a, r.code, r.body)
				}
			}
		}
	}
	drain(100)
	r := c.loginFrom("ada@example.com", "right", "192.0.2.50", nil)
	if r.code != 429 || r.header.Get("Retry-After") != "30" {
		t.Fatalf("a fresh address with the budget spent: %d Retry-After %q %q", r.code, r.header.Get("Retry-After"), r.body)
	}
	// Forged, tampered, another key's, or another account's: ignored.
	other := &session.Manager{DeviceKey: []byte("another key, another server.....")}
	rec := httptest.NewRecorder()
	other.RememberDevice(rec, "ada@example.com")
	tampered := []byte(dev.Value)
	tampered[30] ^= 1
	for name, v := range map[string]string{"forged": "forged", "tampered": string(tampered),
		"another key": rec.Result().Cookies()[0].Value, "another account": bobs.Value} {
		ck := &http.Cookie{Name: session.DeviceCookieName, Value: v}
		if r := c.loginFrom("ada@example.com", "right", "192.0.2.51", ck); r.code != 429 {
			t.Errorf("%s cookie: %d %q", name, r.code, r.body)
		}
	}
	// The owner's browser gets in, from any address, and its cookie is
	// renewed.
	r = c.loginFrom("ada@example.com", "right", "192.0.2.60", dev)
	if r.code != 200 || r.cookie == nil || r.device == nil || r.device.Value == dev.Value {
		t.Fatalf("the owner's browser: %d %q %+v", r.code, r.body, r.device)
	}
	renewed := r.device
	// Others behind the owner's address (a NAT) spend its address's
	// budget trying other accounts: strangers there wait, the owner's
	// browser does not.
	for i := range 10 {
		c.loginFrom(fmt.Sprintf("nobody%d@example.com", i), "wrong", "192.0.2.61", nil)
	}
	if r := c.loginFrom("bob@example.com", "right", "192.0.2.61", nil); r.code != 429 {
		t.Errorf("a stranger behind the spent address: %d", r.code)
	}
	if r = c.loginFrom("ada@example.com", "right", "192.0.2.61", renewed); r.code != 200 {
		t.Fatalf("the owner's browser behind the spent address: %d %q", r.code, r.body)
	}
	renewed = r.device
	// A stolen cookie has its own budget: 5 wrong tries, then it waits,
	// whatever the address.
	for i := range 5 {
		if r := c.loginFrom("ada@example.com", "wrong", fmt.Sprintf("192.0.2.%d", 70+i), dev); r.code != 401 {
			t.Fatalf("stolen cookie, try %d: %d", i, r.code)
		}
	}
	if r := c.loginFrom("ada@example.com", "right", "192.0.2.80", dev); r.code != 429 {
		t.Errorf("stolen cookie, 6th try: %d", r.code)
	}
	// Once the bucket has a try again, a new device gets in too.
	c.clk.Add(30 * time.Second)
	if r := c.loginFrom("ada@example.com", "right", "192.0.2.90", nil); r.code != 200 || r.device == nil {
		t.Errorf("a new device after the refill: %d %q", r.code, r.body)
	}
	// A year on, the renewed cookie has expired: the budget applies
	// again.
	c.clk.Add(session.DeviceTTL)
	drain(101)
	if r := c.loginFrom("ada@example.com", "right", "192.0.2.91", renewed); r.code != 429 {
		t.Errorf("an expired device cookie: %d", r.code)
	}

	// Without a DeviceKey no cookie is issued and none is trusted.
	plain := newConsole(t, st, loopback(t))
	if r := plain.loginFrom("ada@example.com", "right", "203.0.113.1", nil); r.code != 200 || r.device != nil {
		t.Fatalf("without a key: %d %+v", r.code, r.device)
	}
	for i := range 20 {
		plain.loginFrom("ada@example.com", "wrong", fmt.Sprintf("198.51.102.%d", i), nil)
	}
	if r := plain.loginFrom("ada@example.com", "right", "203.0.113.1", dev); r.code != 429 {
		t.Errorf("without a key, a device cookie: %d", r.code)
	}
}

// Behind a trusted proxy each client address has its own budget; an
// untrusted peer's X-Forwarded-For is ignored, so rotating it does not
// help.
func testForwardedFor(t *testing.T, st *store.Store) {
	c := newConsole(t, st, loopback(t))
	c.m.Throttle = &session.Throttle{PerAddress: 3, PerPair: 100}
	c.user("Acme", "ada@example.com", "right")
	from := func(xff string) http.Header { return http.Header{"X-Forwarded-For": {xff}} }
	for i := range 3 {
		if r := c.login("ada@example.com", "wrong", from("198.51.100.1, 203.0.113.9")); r.code != 401 {
			t.Fatalf("try %d: %d", i, r.code)
		}
	}
	if r := c.login("ada@example.com", "right", from("198.51.100.7, 203.0.113.9")); r.code != 429 {
		t.Errorf("same client, forged left part: %d", r.code)
	}
	if r := c.login("ada@example.com", "right", from("203.0.113.10")); r.code != 200 {
		t.Errorf("another client behind the proxy: %d %q", r.code, r.body)
	}

	// Untrusted: the header is ignored, every try counts for the peer.
	u := newConsole(t, st, nil)
	u.m.Throttle = &session.Throttle{PerAddress: 3, PerPair: 100}
	for i := range 3 {
		u.login("ada@example.com", "wrong", from(fmt.Sprintf("203.0.113.%d", i)))
	}
	if r := u.login("ada@example.com", "right", from("203.0.113.99")); r.code != 429 {
		t.Errorf("untrusted peer rotating X-Forwarded-For: %d", r.code)
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted, err := session.ParseTrusted("10.0.0.0/8, 192.0.2.1,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ remote, xff, proto, want, scheme string }{
		{"203.0.113.5:1234", "", "", "203.0.113.5", "http"},
		{"203.0.113.5:1234", "1.2.3.4", "https", "203.0.113.5", "http"}, // untrusted peer
		{"10.1.1.1:80", "1.2.3.4", "https", "1.2.3.4", "https"},
		{"10.1.1.1:80", "6.6.6.6, 1.2.3.4, 10.2.2.2", "http", "1.2.3.4", "http"},
		{"10.1.1.1:80", "10.3.3.3, 192.0.2.1", "", "10.3.3.3", "http"}, // all trusted: the leftmost
		{"10.1.1.1:80", "garbage, 1.2.3.4", "", "1.2.3.4", "http"},
		{"10.1.1.1:80", "1.2.3.4, garbage", "", "10.1.1.1", "http"},
		{"10.1.1.1:80", "", "", "10.1.1.1", "http"},
		{"[::1]:80", "[2001:db8::1]:5555", "HTTPS", "2001:db8::1", "https"},
		{"[::ffff:10.0.0.1]:80", "1.2.3.4", "", "1.2.3.4", "http"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if got := session.ClientAddr(r, trusted); got != tc.want {
			t.Errorf("%s + %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
		if got := session.PublicScheme(r, trusted); got != tc.scheme {
			t.Errorf("%s proto %q: %s, want %s", tc.remote, tc.proto, got, tc.scheme)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "1.2.3"} {
		if _, err := session.ParseTrusted(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if p, err := session.ParseTrusted(""); err != nil || len(p) != 0 {
		t.Errorf("empty: %v %v", p, err)
	}
}
