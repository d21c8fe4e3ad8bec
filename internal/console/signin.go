package console

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/session"
)

type signinData struct {
	Email, Next string
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Sign in", Data: signinData{Next: r.URL.Query().Get("next")}}
	if r.URL.Query().Get("done") == "signedout" {
		p.Flash = "You are signed out."
	}
	c.render(w, http.StatusOK, "signin", p)
}

// signin checks the address and password (throttled per client address,
// per account and address or device, and per account; see
// session.Throttle) and starts a session; when the address belongs to
// several organizations whose user has this password, the user picks one
// next. Each sign-in renews the browser's device cookie, which exempts it
// from the account-wide and per-address budgets so that others' failures
// cannot keep its owner out.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	d := signinData{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: safeNext(r.PostForm.Get("next"))}
	users, err := c.cfg.Sessions.AuthenticateDevice(r.Context(), d.Email, r.PostForm.Get("password"),
		session.ClientAddr(r, c.cfg.Trusted), session.DeviceCookie(r))
	var th *session.ThrottledError
	switch {
	case errors.As(err, &th):
		secs := int(math.Ceil(th.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		c.render(w, http.StatusTooManyRequests, "signin", page{Title: "Sign in", Data: d,
			Problem: fmt.Sprintf("Too many sign-in attempts. Try again in %d seconds.", secs)})
		return
	case errors.Is(err, session.ErrBadCredentials):
		c.render(w, http.StatusUnauthorized, "signin", page{Title: "Sign in", Data: d,
			Problem: "The e-mail address or the password is wrong."})
		return
	case err != nil:
		c.log.Error("console: sign-in", "err", err)
		c.failPage(w, r, nil, http.StatusInternalServerError, "")
		return
	}
	if _, err := c.cfg.Sessions.Start(r.Context(), w, users); err != nil {
		c.log.Error("console: starting a session", "err", err)
		c.failPage(w, r, nil, http.StatusInternalServerError, "")
		return
	}
	c.cfg.Sessions.RememberDevice(w, d.Email)
	if !c.cfg.Sessions.Secure && session.IsHTTPS(r, c.cfg.Trusted) {
		c.insecureHTTPS.Do(func() {
			c.log.Warn("console: a sign-in came over HTTPS, but the session cookies are not marked Secure: set --public-url to the console's https:// address")
		})
	}
	if len(users) > 1 {
		http.Redirect(w, r, "/signin/organization?next="+urlQuery(d.Next), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

type chooseData struct {
	Choices []session.Choice
	Next    string
}

func (c *Console) choosePage(w http.ResponseWriter, r *http.Request) {
	cur, err := c.cfg.Sessions.Current(r)
	if err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	if len(cur.Choices) == 0 {
		http.Redirect(w, r, "/instances", http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "choose", page{Title: "Choose an organization",
		Data: chooseData{Choices: cur.Choices, Next: safeNext(r.URL.Query().Get("next"))}})
}

func (c *Console) choose(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	org, err := strconv.ParseInt(r.PostForm.Get("organization"), 10, 64)
	if err == nil {
		err = c.cfg.Sessions.Choose(r.Context(), w, r, org)
	}
	if err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// signout ends the session on the server, not only in the browser.
func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if err := c.cfg.Sessions.End(r.Context(), w, r); err != nil && !errors.Is(err, session.ErrNoSession) {
		c.log.Error("console: ending a session", "err", err)
	}
	http.Redirect(w, r, "/signin?done=signedout", http.StatusSeeOther)
}

// safeNext is where to go after signing in: a path of this site only
// (never another host), the instances by default.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/instances"
	}
	return next
}

func urlQuery(s string) string { return url.QueryEscape(s) }
