// Package console is pollhook's web console, served by `pollhook serve`
// at /: sign-in, the instances, the seed's create-instance form, and each
// instance's polling. Pages are rendered on the server (html/template);
// a little JavaScript keeps the form's controls in step. Every asset is
// embedded in the binary. A console session acts as its user, through the
// same services the API uses, and has no rules of its own: the instance
// service judges every form, and its field errors are shown beside their
// fields. The package holds no SQL.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Polls is the polling status and control the console shows (the job
// engine implements it, as it does for the API).
type Polls interface {
	Status(ctx context.Context, inst *store.Instance) (*poller.InstanceStatus, error)
	RunNow(ctx context.Context, inst *store.Instance, resource string, backfill time.Time) (int, error)
}

// Config wires the console.
type Config struct {
	Store     *store.Store
	Instances *instance.Service
	Polls     Polls
	Sessions  *session.Manager
	Hub       Hub
	// Outbox replays notifications and reactivates callbacks.
	Outbox *delivery.Outbox
	// Tester sends test notifications.
	Tester *delivery.Tester
	// Trusted are the proxies whose X-Forwarded-For is believed (the
	// sign-in throttle counts per client address).
	Trusted []netip.Prefix
	// PublicURL, when set, is the origin browsers reach the console at;
	// cross-origin protection trusts it (a proxy may rewrite Host).
	PublicURL string
	Log       *slog.Logger
}

// Console serves the pages.
type Console struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	// insecureHTTPS warns, once, that sign-ins come over HTTPS while the
	// session cookies are not marked Secure.
	insecureHTTPS sync.Once
}

// New builds the console's handler.
func New(cfg Config) (http.Handler, error) {
	c := &Console{cfg: cfg, log: cfg.Log}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if err := c.parse(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", cacheAssets(http.FileServerFS(assets))))
	mux.HandleFunc("GET /signin", c.signinPage)
	mux.HandleFunc("POST /signin", c.signin)
	mux.HandleFunc("GET /signin/organization", c.choosePage)
	mux.HandleFunc("POST /signin/organization", c.choose)
	mux.HandleFunc("POST /signout", c.signout)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/instances", http.StatusSeeOther)
	})
	mux.Handle("GET /instances", c.user(c.list))
	mux.Handle("GET /instances/new", c.user(c.newPage))
	mux.Handle("POST /instances/new", c.user(c.create))
	mux.Handle("GET /instances/{id}", c.user(c.detail))
	mux.Handle("GET /instances/{id}/edit", c.user(c.editPage))
	mux.Handle("POST /instances/{id}/edit", c.user(c.edit))
	mux.Handle("POST /instances/{id}/poll", c.user(c.poll))
	mux.Handle("POST /instances/{id}/enable", c.user(c.enable(true)))
	mux.Handle("POST /instances/{id}/disable", c.user(c.enable(false)))
	mux.Handle("GET /instances/{id}/delete", c.user(c.deletePage))
	mux.Handle("POST /instances/{id}/delete", c.user(c.delete))
	mux.Handle("GET /activity", c.user(c.activity))
	mux.Handle("GET /events", c.user(c.events))
	mux.Handle("GET /events/replay", c.user(c.replayPage))
	mux.Handle("POST /events/replay", c.user(c.replayFiltered))
	mux.Handle("GET /events/{eventId}", c.user(c.event))
	mux.Handle("POST /notifications/{notificationId}/replay", c.user(c.replay))
	mux.Handle("POST /callbacks/{id}/reactivate", c.user(c.reactivate))
	mux.Handle("POST /instances/{id}/callback-test", c.user(c.callbackTest))
	mux.Handle("GET /instances/{id}/callback-tests/{testId}", c.user(c.callbackTestResult))
	mux.Handle("GET /instances/{id}/api", c.user(c.apiDocs))
	mux.Handle("GET /instances/{id}/api/openapi.json", c.user(c.apiSpec))
	mux.Handle("/instances/{id}/api/hubs/{path...}", c.user(c.apiCall))

	cop := http.NewCrossOriginProtection()
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Host == "" {
			return nil, errors.New("console: the public URL " + strconv.Quote(cfg.PublicURL) + " is not an absolute URL")
		}
		if err := cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, err
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.failPage(w, r, nil, http.StatusForbidden, "This request came from another site, so it was refused. Go back, reload the page and try again.")
	}))
	return secureHeaders(cop.Handler(mux)), nil
}

// secureHeaders: pages load only what the binary serves, are never
// framed, and never cached (they show configuration).
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/assets/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

func cacheAssets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// viewer is who is signed in.
type viewer struct {
	caller instance.Caller
	r      *http.Request
}

// user lets a page through for a signed-in user; anyone else is sent to
// sign in (and back here after), and one who still has to pick an
// organization to that choice.
func (c *Console) user(page func(http.ResponseWriter, *http.Request, *viewer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur, err := c.cfg.Sessions.Current(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/signin"+next, http.StatusSeeOther)
			return
		case err != nil:
			c.failPage(w, r, nil, http.StatusInternalServerError, "")
			c.log.Error("console: reading the session", "err", err)
			return
		case len(cur.Choices) > 0:
			http.Redirect(w, r, "/signin/organization", http.StatusSeeOther)
			return
		}
		c.cfg.Sessions.Refresh(w, r, cur)
		page(w, r, &viewer{caller: instance.Caller{Org: cur.Organization, User: cur.User}, r: r})
	})
}

// page is what every template gets.
type page struct {
	Title   string
	User    *store.User
	Org     *store.Organization
	Flash   string
	Problem string
	Data    any
}

func (c *Console) parse() error {
	funcs := template.FuncMap{
		"join": strings.Join,
		"list": func(v ...string) []string { return v },
		"pct":  func(f float64) float64 { return f * 100 },
		"ms": func(d time.Duration) string {
			if d < time.Millisecond {
				return "< 1 ms"
			}
			return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
		},
		"stamp": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"every": func(seconds int64) string {
			d := time.Duration(seconds) * time.Second
			switch {
			case d%time.Hour == 0 && d >= time.Hour:
				return strconv.FormatInt(int64(d/time.Hour), 10) + " h"
			case d%time.Minute == 0 && d >= time.Minute:
				return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
			}
			return strconv.FormatInt(seconds, 10) + " s"
		},
		"since": func(s string) string {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return s
			}
			d := time.Since(t).Round(time.Second)
			if d < 0 {
				return "in " + (-d).String()
			}
			return d.String() + " ago"
		},
		"contains": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, name := range []string{"signin", "choose", "instances", "form", "instance", "delete", "problem", "apidocs", "activity", "events", "event", "replay", "testdelivery"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return err
		}
		c.pages[name] = t
	}
	return nil
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages[name].ExecuteTemplate(w, "layout.html", p); err != nil {
		c.log.Error("console: rendering", "page", name, "err", err)
	}
}

// failPage answers with a page that says what went wrong; an internal
// error says only that, and is logged.
func (c *Console) failPage(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	p := page{Title: http.StatusText(status), Problem: msg}
	if status >= 500 {
		p.Problem = "Something went wrong on the server. Try again; if it goes on, the server's log says why."
	}
	if v != nil {
		p.User, p.Org = v.caller.User, v.caller.Org
	}
	c.render(w, status, "problem", p)
}

// fail answers a page's error: a refusal of the instance service with its
// status and message, anything else as an internal error.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	var ie *instance.Error
	var paused *poller.PausedError
	switch {
	case errors.As(err, &ie) && ie.Status < 500:
		c.failPage(w, r, v, ie.Status, ie.Message)
	case errors.As(err, &paused):
		c.failPage(w, r, v, http.StatusConflict, paused.Error())
	case errors.Is(err, store.ErrNotFound):
		c.failPage(w, r, v, http.StatusNotFound, "There is no such instance in your organization.")
	default:
		c.log.Error("console", "path", r.URL.Path, "err", err)
		c.failPage(w, r, v, http.StatusInternalServerError, "")
	}
}

func (v *viewer) page(title string, data any) page {
	q := v.r.URL.Query()
	flash := flashes[q.Get("done")]
	switch q.Get("done") {
	case "replayed":
		flash = "Notification " + q.Get("notification") + " is queued again, under the same id."
	case "replayed-many":
		flash = q.Get("count") + " notifications are queued again, under the same ids."
	}
	return page{Title: title, User: v.caller.User, Org: v.caller.Org, Data: data, Flash: flash}
}

// flashes say what the last action did (?done=…).
var flashes = map[string]string{
	"created":         "The instance is created. Its first poll runs within a few seconds.",
	"saved":           "Saved.",
	"polling":         "A poll is asked for: it runs within a few seconds. Reload to see it.",
	"backfilling":     "A backfill is asked for: it runs within a few seconds. Reload to see it.",
	"nothing to poll": "Nothing to poll: events are off, the instance is disabled, or it polls no such resource.",
	"enabled":         "Enabled: its polls run again.",
	"reactivated":     "Reactivated: the callback's queue goes out now, in order.",
	"disabled":        "Disabled: its polls stop until it is enabled.",
	"deleted":         "The instance is deleted.",
}
