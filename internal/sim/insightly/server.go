package insightly

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// response is what a route produces; ServeHTTP adds the headers every
// response carries and writes it.
type response struct {
	status int
	body   []byte
	header http.Header
}

func jsonResponse(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(&apiError{Status: 500, Message: "An error has occurred."})
	}
	return response{status: status, body: b}
}

func errorResponse(e *apiError) response {
	b, _ := json.Marshal(map[string]string{"Message": e.Message})
	return response{status: e.Status, body: b}
}

func errResponse(err error) response {
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(ae)
	}
	return errorResponse(&apiError{Status: 500, Message: "An error has occurred."})
}

// ServeHTTP serves the v3.1 API and, under /_sim/, the control endpoints.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	resp := s.serveAPI(r)
	s.write(w, r, resp)
}

// serveAPI runs one API request through authentication, rate limits,
// injected faults and routing.
func (s *Sim) serveAPI(r *http.Request) response {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v3.1/")
	if !ok {
		return errorResponse(&apiError{Status: 404, Message: "No HTTP resource was found that matches the request URI '" + r.URL.String() + "'."})
	}
	s.mu.Lock()
	owner, authed := s.authenticate(r)
	if !authed {
		s.mu.Unlock()
		return errorResponse(&apiError{Status: 401, Message: "Authorization has been denied for this request."})
	}
	a := owner.acct
	now, wall := s.now(), s.cfg.WallNow()
	a.traffic.arrive(wall)
	if ref := a.limiter.admit(wall, now); ref != nil {
		a.traffic.leave(true)
		resp := errorResponse(&apiError{Status: 429, Message: "API rate limit exceeded."})
		if ref.quota {
			resp = errorResponse(&apiError{Status: 429, Message: "API daily request limit exceeded."})
		}
		resp.header = http.Header{}
		if !s.faults.noRetryHint {
			resp.header.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(ref.retryAfter), 10))
		}
		s.rateHeaders(&resp, a, now)
		s.mu.Unlock()
		return resp
	}
	latency := s.faults.latency
	s.mu.Unlock()

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
	}

	body, err := readBody(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	defer a.limiter.release()
	defer a.traffic.leave(false)
	var resp response
	switch status, fail := s.faults.shouldFail(s.rng); {
	case fail:
		resp = errorResponse(&apiError{Status: status, Message: "An error has occurred."})
	case err != nil:
		resp = errResponse(err)
	default:
		resp = s.route(a, owner.user, r, rest, body)
	}
	s.rateHeaders(&resp, a, s.now())
	return resp
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("The request body could not be read.")
	}
	if len(b) > maxBody {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Message: "The request body is too large."}
	}
	return b, nil
}

// authenticate checks HTTP Basic with the API key as the user name. Both
// base64(key) and base64(key:anything) work, as clients send either.
func (s *Sim) authenticate(r *http.Request) (keyOwner, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return keyOwner{}, false
	}
	token = strings.TrimSpace(token)
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		// leapforce encodes with the URL alphabet.
		if raw, err = base64.URLEncoding.DecodeString(token); err != nil {
			return keyOwner{}, false
		}
	}
	key, _, _ := strings.Cut(string(raw), ":")
	owner, ok := s.keys[key]
	return owner, ok
}

func (s *Sim) rateHeaders(resp *response, a *account, now time.Time) {
	if resp.header == nil {
		resp.header = http.Header{}
	}
	if rem := a.limiter.remaining(now); rem >= 0 {
		resp.header.Set("X-RateLimit-Limit", strconv.Itoa(a.limiter.quota))
		resp.header.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
	}
}

// write sends resp with the Date header from the upstream clock, an ETag
// on successful reads, and gzip when the client accepts it.
func (s *Sim) write(w http.ResponseWriter, r *http.Request, resp response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Date", s.Now().UTC().Format(http.TimeFormat))
	if resp.status == http.StatusAccepted && len(resp.body) == 0 {
		w.WriteHeader(resp.status)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	if resp.status < 300 {
		h.Set("ETag", etag(resp.body))
	}
	body := resp.body
	if len(body) > 512 && acceptsGzip(r) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func etag(body []byte) string {
	sum := sha1.Sum(body)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(enc, "gzip") {
			return true
		}
	}
	return false
}

func methodNotAllowed(r *http.Request) response {
	return errorResponse(&apiError{Status: 405, Message: "The requested resource does not support http method '" + r.Method + "'."})
}

func noResource(r *http.Request) response {
	return errorResponse(&apiError{Status: 404, Message: "No HTTP resource was found that matches the request URI '" + r.URL.Path + "'."})
}
