// Package element defines what pollhook needs from a connector to an
// upstream system (an "element", in Cloud Elements' words): its
// configuration keys, its default poller configuration, and a hub through
// which the API and the poller read and write records.
package element

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/element/ceql"
)

// ConfigField describes one instance configuration key an element reads.
type ConfigField struct {
	Key         string
	Required    bool
	Secret      bool // masked as ******** in every response, encrypted at rest
	Description string
}

// Element is a connector to one kind of upstream system.
type Element interface {
	// Key is the element key clients name, e.g. "insightly".
	Key() string
	// Info describes the element as instance responses show it.
	Info() Info
	// ConfigFields lists the configuration keys the element reads.
	ConfigFields() []ConfigField
	// DefaultPollerConfig is the event.poller.configuration used when an
	// instance enables events without one.
	DefaultPollerConfig() json.RawMessage
	// Open checks an instance configuration and returns a connection. It
	// makes no request: Conn.Identify verifies the credentials. A
	// configuration naming an upstream the server may not call fails
	// with an error matching ErrUpstreamNotAllowed.
	Open(cfg map[string]string) (Conn, error)
	// Destination is where the configuration's credentials are sent
	// (scheme://host[:port]). A stored secret may only go where it was
	// entered: a change of destination needs the secrets given again.
	Destination(cfg map[string]string) (string, error)
}

// PollerDefaulter is an element that knows a default poller configuration
// for resources its DefaultPollerConfig does not list (any object of the
// upstream it knows the key and dates of), so `{}` works for them too.
type PollerDefaulter interface {
	DefaultPollerFor(resource string) (json.RawMessage, bool)
}

// ErrUpstreamNotAllowed matches an upstream URL the server refuses to
// call: not the element's own service and not allowed by the operator.
var ErrUpstreamNotAllowed = errors.New("the upstream URL is not allowed")

// Info describes an element.
type Info struct {
	ID          int64  // Cloud Elements' element id, kept for compatibility
	Key         string // "insightly"
	Name        string // "Insightly"
	Description string
	Image       string
	Hub         string // the Cloud Elements hub, e.g. "crm"
	AuthType    string // "basic", "oauth2"…
}

// ConfigAccount is set by pollhook, never by clients, when it opens an
// instance whose account an earlier Identify named, so that every instance
// of one upstream account shares its rate limits.
const ConfigAccount = "pollhook.account"

// Conn is one instance's connection to its upstream account: the hub.
type Conn interface {
	// Identify verifies the credentials and names the upstream account.
	Identify(ctx context.Context) (Identity, error)
	// List reads one page of a resource.
	List(ctx context.Context, resource string, req ListRequest) (*ListResult, error)
	// Get reads one record.
	Get(ctx context.Context, resource, id string) (*Result, error)
	// Create adds a record from a JSON object.
	Create(ctx context.Context, resource string, body json.RawMessage) (*Result, error)
	// Update changes a record; patch selects partial (PATCH) over full (PUT)
	// semantics where the upstream distinguishes them.
	Update(ctx context.Context, resource, id string, body json.RawMessage, patch bool) (*Result, error)
	// Delete removes a record.
	Delete(ctx context.Context, resource, id string) error
	// Scan calls fn for every record of resource matching where, each once,
	// whatever happens to the upstream's paging meanwhile.
	Scan(ctx context.Context, resource string, where ceql.Expr, opts ScanOptions, fn func(*Record) error) (ScanResult, error)
}

// Identity names the upstream account behind an instance: instances with
// the same Account share its rate limits and quota.
type Identity struct {
	Account string // stable key of the upstream account
	Name    string // its display name
	User    string // the authenticated user
	Plan    string
}

// ListRequest is one page of a hub list call.
type ListRequest struct {
	Where    string // CEQL
	Page     int    // 1-based; 0 means 1
	PageSize int    // 0 means the element's default
	NextPage string // a token from an earlier ListResult; overrides Page
}

// ListResult is one page of records, with the token for the next page
// ("" when this page is the last).
type ListResult struct {
	Records  []json.RawMessage
	NextPage string
	Date     time.Time // the upstream clock
}

// Result is one record.
type Result struct {
	Record json.RawMessage
	Date   time.Time
}

// ScanOptions tune a scan.
type ScanOptions struct {
	PageSize int  // records per upstream request; 0 for the element's default
	Brief    bool // top-level fields only: enough for an ID scan, and cheaper
	// MaxPages bounds the requests of one scan (0: no bound), so a broken
	// upstream that never ends its results cannot hold a run, or memory,
	// for ever. A scan that reaches it fails with ErrTooManyPages.
	MaxPages int
	// Resume continues an earlier scan of the same resource and where
	// from a Position its Checkpoint was given ("": from the start).
	Resume string
	// Checkpoint, when set, is called after each page's records were given
	// to fn, with the position to resume from after them, the upstream
	// clock at that page's answer, and whether it was the last page. An
	// error ends the scan with it.
	Checkpoint func(position string, date time.Time, last bool) error
}

// ErrTooManyPages matches a scan stopped by ScanOptions.MaxPages.
var ErrTooManyPages = errors.New("the scan read its maximum number of pages without reaching the end")

// Backoff, wrapped in an error, says the upstream wants no more requests
// from this account until a time: a spent daily quota, or a rate limit
// longer than is worth waiting for in place.
type Backoff struct {
	Until time.Time
	Quota bool // the daily quota is spent
}

func (b *Backoff) Error() string {
	if b.Quota {
		return "daily quota spent until " + b.Until.UTC().Format(time.RFC3339)
	}
	return "rate limited until " + b.Until.UTC().Format(time.RFC3339)
}

// FieldNamer is a Conn that names a record's fields as CEQL does (an
// Insightly custom field by its bare name, Hobby__c): record snapshots
// diff and filter records by these names. A Conn without it has its
// records' top-level keys as fields.
type FieldNamer interface {
	FieldsOf(raw json.RawMessage) (map[string]json.RawMessage, error)
}

// QuotaReporter is a Conn that knows its account's daily quota.
type QuotaReporter interface {
	// Quota is the last known limit and remaining requests (-1: unknown),
	// and the upstream's clock less ours when it stated them (its quota
	// day follows its clock).
	Quota() (limit, remaining int, offset time.Duration)
}

// Gate is a Conn that can tell, without waiting, whether its upstream
// account has room for one more request now. A job engine asks before a
// poll run: a run that would only queue behind the account's requests in
// flight (a slow upstream holds them all) gives its worker back and comes
// again later, so one account cannot hold every worker. Once a run has
// started, its later requests wait their turn as usual.
type Gate interface {
	// Reserve takes, without waiting, what the connection's next request
	// needs (an in-flight slot, a rate token) and keeps it for that
	// request. When the account has none free it takes nothing and says
	// how long until it may (0: unknown, it depends on the upstream).
	Reserve() (ok bool, retryIn time.Duration)
	// Release gives back a reservation no request used. It is safe to
	// call at any time, any number of times.
	Release()
}

// ScanResult tells how a scan went.
type ScanResult struct {
	Date    time.Time // the upstream clock at the first response
	Pages   int
	Records int
}

// Error is a failure with the HTTP status the hub API should answer.
// Message is safe to show the client; it never contains credentials.
type Error struct {
	Status  int
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil && !strings.Contains(e.Message, e.Err.Error()) {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status the API answers with.
func (e *Error) HTTPStatus() int { return e.Status }

// Errorf makes an *Error with a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// StatusOf is the HTTP status for err: that of the first error in its
// chain with an HTTPStatus method, else 500.
func StatusOf(err error) int {
	var e interface{ HTTPStatus() int }
	if errors.As(err, &e) {
		return e.HTTPStatus()
	}
	return http.StatusInternalServerError
}

// Registry holds the elements pollhook serves.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Element
}

// NewRegistry holds els.
func NewRegistry(els ...Element) *Registry {
	r := &Registry{m: map[string]Element{}}
	for _, e := range els {
		r.m[e.Key()] = e
	}
	return r
}

// Get finds an element by key.
func (r *Registry) Get(key string) (Element, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.m[key]
	return e, ok
}

// Keys lists the element keys, sorted.
func (r *Registry) Keys() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	keys := make([]string, 0, len(r.m))
	for k := range r.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
