// Package api serves pollhook's Cloud Elements-compatible HTTP API under
// /elements/api-v2: the instance API, the CRM hub, and its own OpenAPI
// document. It is thin: it authenticates, decodes, calls the instance
// service and the element hub, and encodes answers and errors.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// BasePath is where Cloud Elements serves its API; clients change only the host.
const BasePath = "/elements/api-v2"

// maxBody bounds request bodies.
const maxBody = 1 << 20

// Config wires the API.
type Config struct {
	Store      *store.Store
	Instances  *instance.Service
	Polls      Polls
	Deliveries Deliveries
	Tester     Tester
	Logger     *slog.Logger
	// Version is reported in the OpenAPI document.
	Version string
}

// Server is the API handler.
type Server struct {
	cfg    Config
	log    *slog.Logger
	router *router
}

// New builds the API.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, router: &router{base: BasePath}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, r := range s.routes() {
		s.router.add(r)
	}
	return s
}

type ctxKey int

const (
	keyCaller ctxKey = iota
	keyRequestID
)

// ServeHTTP answers API requests under BasePath.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	w.Header().Set("Elements-Request-Id", reqID)
	r = r.WithContext(context.WithValue(r.Context(), keyRequestID, reqID))
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "requestId", reqID, "panic", fmt.Sprint(p))
			if rec.status == 0 {
				s.fail(rec, r, errors.New("panic"))
			}
		}
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"ms", time.Since(start).Milliseconds(), "requestId", reqID)
	}()

	path, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok {
		s.fail(rec, r, &httpError{http.StatusNotFound, "no such endpoint: " + r.URL.Path})
		return
	}
	rt, p, known := s.router.match(r.Method, path)
	if rt == nil {
		if known {
			s.fail(rec, r, &httpError{http.StatusMethodNotAllowed, r.Method + " is not supported on " + r.URL.Path})
			return
		}
		s.fail(rec, r, &httpError{http.StatusNotFound, "no such endpoint: " + r.URL.Path})
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, maxBody)
	if rt.auth != authNone {
		c, err := s.authenticate(r.Context(), r.Header.Get("Authorization"), rt.auth)
		if err != nil {
			s.fail(rec, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), keyCaller, c))
	}
	rt.handle(rec, r, p)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// caller is who made the request, once authenticated.
type caller struct {
	instance.Caller
	token string // the Element token, when given
	// inst, set by ServeHub, is the instance a hub call acts on, already
	// resolved (the console's session names it; no token is involved).
	inst *store.Instance
}

// ServeHub answers a hub call (a path under /hubs/ below BasePath) for a
// caller already signed in, on one of its organization's instances: the
// console's "try it" on an instance's API docs, which acts through the
// console's session and never puts a secret in the page. Only hub routes
// are served.
func (s *Server) ServeHub(w http.ResponseWriter, r *http.Request, c instance.Caller, inst *store.Instance) {
	reqID := newRequestID()
	w.Header().Set("Elements-Request-Id", reqID)
	r = r.WithContext(context.WithValue(r.Context(), keyRequestID, reqID))
	path, _ := strings.CutPrefix(r.URL.Path, BasePath)
	rt, p, _ := s.router.match(r.Method, path)
	if rt == nil || rt.auth != authHub || inst == nil || c.Org == nil || inst.OrgID != c.Org.ID {
		s.fail(w, r, &httpError{http.StatusNotFound, "no such hub call: " + r.Method + " " + path})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	r = r.WithContext(context.WithValue(r.Context(), keyCaller, caller{Caller: c, inst: inst}))
	rt.handle(w, r, p)
}

func callerOf(r *http.Request) caller { c, _ := r.Context().Value(keyCaller).(caller); return c }

var errAuth = &httpError{http.StatusUnauthorized, "the Authorization header must be " +
	"'User <user secret>, Organization <organization secret>' (add ', Element <instance token>' for hub calls)"}

// authenticate checks the secrets a route needs. Secrets are looked up by
// hash; a wrong one and a missing one fail alike.
func (s *Server) authenticate(ctx context.Context, header string, kind authKind) (caller, error) {
	creds, err := auth.Parse(header)
	if err != nil {
		return caller{}, &httpError{http.StatusUnauthorized, err.Error() + "; " + errAuth.msg}
	}
	if creds.User == "" {
		return caller{}, &httpError{http.StatusUnauthorized, "the Authorization header needs a User secret; " + errAuth.msg}
	}
	u, err := s.cfg.Store.UserBySecret(ctx, auth.Hash(creds.User))
	if errors.Is(err, store.ErrNotFound) {
		return caller{}, &httpError{http.StatusUnauthorized, "the User secret is not valid"}
	} else if err != nil {
		return caller{}, err
	}
	c := caller{Caller: instance.Caller{User: u}, token: creds.Element}
	switch {
	case creds.Organization != "":
		o, err := s.cfg.Store.OrganizationBySecret(ctx, auth.Hash(creds.Organization))
		if errors.Is(err, store.ErrNotFound) || (err == nil && o.ID != u.OrgID) {
			return caller{}, &httpError{http.StatusUnauthorized, "the Organization secret is not valid for this user"}
		} else if err != nil {
			return caller{}, err
		}
		c.Org = o
	case kind == authHub:
		c.Org = &store.Organization{ID: u.OrgID}
	default:
		return caller{}, &httpError{http.StatusUnauthorized, "the Authorization header needs an Organization secret; " + errAuth.msg}
	}
	if (kind == authToken || kind == authHub) && creds.Element == "" {
		return caller{}, &httpError{http.StatusUnauthorized, "this call acts on an instance: the Authorization header needs 'Element <instance token>'"}
	}
	return c, nil
}

// httpError is an API-level refusal.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string   { return e.msg }
func (e *httpError) HTTPStatus() int { return e.status }

// errorBody is every error's JSON, as Cloud Elements answers, plus the
// list of field errors when the request was refused for its fields:
// message is then the first entry's "field: message", as before the list
// existed, so Cloud Elements clients see no change.
type errorBody struct {
	RequestID string                `json:"requestId"`
	Message   string                `json:"message"`
	Errors    []instance.FieldError `json:"errors,omitempty"`
}

// fail answers err. Errors that carry a status say what went wrong; any
// other is internal: logged with the request ID, never shown.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	reqID, _ := r.Context().Value(keyRequestID).(string)
	status := element.StatusOf(err)
	msg := err.Error()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", maxBody)
	case status >= 500 && status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout:
		s.log.Error("internal error", "requestId", reqID, "err", err)
		msg = "internal error; quote request " + reqID + " when reporting it"
	}
	body := errorBody{RequestID: reqID, Message: msg}
	var ie *instance.Error
	if status >= 400 && status < 500 && errors.As(err, &ie) && len(ie.Fields) > 0 {
		body.Errors = ie.Fields
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// readBody reads a bounded request body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, &httpError{http.StatusBadRequest, "the request body could not be read"}
	}
	return b, nil
}
