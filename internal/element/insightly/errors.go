package insightly

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors a call can match with errors.Is. Each is wrapped in an *Error
// that says which call failed and what Insightly answered.
var (
	// ErrUnauthorized: the API key is wrong, reset, or its user lost API access (401).
	ErrUnauthorized = errors.New("insightly: unauthorized")
	// ErrForbidden: the user or the plan has no access to this object (403).
	ErrForbidden = errors.New("insightly: forbidden")
	// ErrNotFound: no such record, or the object is not on this plan (404).
	ErrNotFound = errors.New("insightly: not found")
	// ErrInvalid: Insightly refused the request as malformed (400, 405, 413, 417…).
	ErrInvalid = errors.New("insightly: request refused")
	// ErrRateLimited: still limited after the retries (429 with quota left).
	ErrRateLimited = errors.New("insightly: rate limited")
	// ErrQuotaExhausted: the daily request quota is spent; see *QuotaError for the reset.
	ErrQuotaExhausted = errors.New("insightly: daily quota exhausted")
	// ErrUnavailable: 5xx, timeouts or network failures that outlasted the retries.
	ErrUnavailable = errors.New("insightly: unavailable")
)

// Error is a failed call. It never carries the API key.
type Error struct {
	Method  string
	Path    string    // path and query, relative to the base URL
	Status  int       // 0 when no response arrived
	Message string    // what Insightly said, shortened; opaque text
	Date    time.Time // the upstream clock at the response, if any
	// RetryAt, on a 429 whose Retry-After was too long to wait in place,
	// is when Insightly will take requests again (our clock).
	RetryAt time.Time
	kind    error
	cause   error // the transport error, when there was no response
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "insightly: %s %s: ", e.Method, e.Path)
	if e.Status == 0 {
		b.WriteString(e.kind.Error())
		if e.cause != nil {
			b.WriteString(": ")
			b.WriteString(e.cause.Error())
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap lets errors.Is match the kind (ErrNotFound…) and the cause.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// QuotaError reports a spent daily quota and when it comes back.
type QuotaError struct {
	Limit int       // the daily limit Insightly reported, 0 if unknown
	Reset time.Time // when requests will be accepted again
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("insightly: daily quota of %d requests exhausted until %s", e.Limit, e.Reset.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrQuotaExhausted) true.
func (e *QuotaError) Unwrap() error { return ErrQuotaExhausted }

// kindOf maps a final status to the error kind.
func kindOf(status int) error {
	switch {
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500:
		return ErrUnavailable
	default:
		return ErrInvalid
	}
}

// messageOf extracts Insightly's {"Message": …} or the start of a text body.
func messageOf(body []byte) string {
	var m struct{ Message string }
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return shorten(m.Message)
	}
	return shorten(strings.TrimSpace(string(body)))
}

func shorten(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
