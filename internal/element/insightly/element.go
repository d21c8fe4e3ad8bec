package insightly

import (
	"cmp"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/element"
)

// Configuration keys of an Insightly instance. username and password are
// Cloud Elements' (password carries the API key); the others are pollhook's.
const (
	ConfigUsername = "username"
	ConfigPassword = "password"
	ConfigPod      = "insightly.pod"
	ConfigBaseURL  = "base.url"
)

//go:embed poller.json
var defaultPollerConfig []byte

// Options configure the element for the whole process.
type Options struct {
	// Upstreams decides which API URLs instances may name and requests may
	// reach: Insightly's own hosts, plus the operator's --allow-upstream.
	Upstreams Upstreams
	// HTTPClient sends every request; default Upstreams.Client, which
	// enforces Upstreams on every connection and redirect. Tests that
	// replace it keep the check of each instance's URL, not the dialler's.
	HTTPClient *http.Client
	// Limits shares pacing between the instances of one Insightly account;
	// default a registry with the default rates.
	Limits *Limits
	// ScanLimit bounds local filtering in hub lists; default ScanLimitDefault.
	ScanLimit int
	// MaxRetries, Backoff, Sleep and Now pass to every Client (see Config).
	MaxRetries int
	Backoff    func(attempt int) time.Duration
	Sleep      func(ctx context.Context, d time.Duration) error
	Now        func() time.Time
}

// Element is the Insightly element.
type Element struct {
	opts Options
}

var _ element.Element = (*Element)(nil)

// NewElement returns the element.
func NewElement(opts Options) *Element {
	if opts.HTTPClient == nil {
		opts.HTTPClient = opts.Upstreams.Client(TimeoutDefault)
	}
	if opts.Limits == nil {
		opts.Limits = NewLimits(0, 0)
	}
	if opts.Now != nil {
		opts.Limits.SetClock(opts.Now)
	}
	opts.ScanLimit = cmp.Or(opts.ScanLimit, ScanLimitDefault)
	return &Element{opts: opts}
}

// Key is "insightly".
func (*Element) Key() string { return "insightly" }

// Info describes the element as Cloud Elements did (its id was 5993).
func (*Element) Info() element.Info {
	return element.Info{ID: 5993, Key: "insightly", Name: "Insightly", Hub: "crm", AuthType: "basic",
		Image: "elements/provider_insightly.png",
		Description: "Add an Insightly instance to connect your existing Insightly account to the CRM hub, " +
			"allowing you to manage contacts, accounts, leads, activities and users across multiple Elements. " +
			"You will need your Insightly account information to add an instance."}
}

// ConfigFields lists the instance configuration keys.
func (*Element) ConfigFields() []element.ConfigField {
	return []element.ConfigField{
		{Key: ConfigUsername, Description: "User name or email address (informational; Insightly authenticates by API key alone)"},
		{Key: ConfigPassword, Required: true, Secret: true, Description: "API key, from Insightly's User Settings → API"},
		{Key: ConfigPod, Description: `Pod of the Insightly account, e.g. "na1" (default) or "eu1"`},
		{Key: ConfigBaseURL, Description: "Full Insightly API URL, e.g. https://api.eu1.insightly.com/v3.1; overrides insightly.pod"},
	}
}

// DefaultPollerConfig polls contacts, accounts, leads and opportunities by
// DATE_UPDATED_UTC, as the element's documentation shows for the first
// two (spec §5.2) and by analogy for the others.
func (*Element) DefaultPollerConfig() json.RawMessage {
	return json.RawMessage(defaultPollerConfig)
}

// Open checks cfg and returns the instance's hub. account, when known
// (from an earlier Identify), keys the shared limiter; until then the API
// key does.
func (e *Element) Open(cfg map[string]string) (element.Conn, error) {
	key := strings.TrimSpace(cfg[ConfigPassword])
	if key == "" {
		return nil, element.Errorf(http.StatusBadRequest, "configuration.%s: is required (the Insightly API key)", ConfigPassword)
	}
	base, err := e.baseURL(cfg)
	if err != nil {
		return nil, err
	}
	account := cfg[element.ConfigAccount]
	if account == "" {
		sum := sha256.Sum256([]byte(key))
		account = base.Host + "/key:" + hex.EncodeToString(sum[:8])
	}
	c, err := New(Config{APIKey: key, BaseURL: base.String(), HTTPClient: e.opts.HTTPClient,
		Limiter: e.opts.Limits.For(account), MaxRetries: e.opts.MaxRetries, Backoff: e.opts.Backoff,
		Sleep: e.opts.Sleep, Now: e.opts.Now})
	if err != nil {
		return nil, element.Errorf(http.StatusBadRequest, "configuration.%s: %v", ConfigPassword, strings.TrimPrefix(err.Error(), "insightly: "))
	}
	return &conn{client: c, scanLimit: e.opts.ScanLimit}, nil
}

// baseURL resolves and checks the instance's API root.
func (e *Element) baseURL(cfg map[string]string) (*url.URL, error) {
	field := ConfigBaseURL
	if strings.TrimSpace(cfg[ConfigBaseURL]) == "" {
		field = ConfigPod
	}
	base, err := ResolveBaseURL(cfg[ConfigPod], cfg[ConfigBaseURL])
	if err != nil {
		return nil, element.Errorf(http.StatusBadRequest, "configuration.%s: %v", field, strings.TrimPrefix(err.Error(), "insightly: "))
	}
	if err := e.opts.Upstreams.Check(base); err != nil {
		return nil, &element.Error{Status: http.StatusBadRequest, Message: "configuration." + field + ": " + err.Error(), Err: err}
	}
	return base, nil
}

// Destination is the API root's origin: the API key goes there.
func (e *Element) Destination(cfg map[string]string) (string, error) {
	base, err := ResolveBaseURL(cfg[ConfigPod], cfg[ConfigBaseURL])
	if err != nil {
		return "", err
	}
	return base.Scheme + "://" + strings.ToLower(base.Hostname()) + ":" + effectivePort(base), nil
}

// DefaultPollerFor is the default poller configuration of any Insightly
// object: changes by DATE_UPDATED_UTC, creations by DATE_CREATED_UTC, as
// for the four resources of DefaultPollerConfig, keyed by the object's key
// from Insightly's key table, RECORD_ID for custom objects, or a guess
// (the singular + _ID) for an object the element cannot know. The first
// poll checks the guess: a resource whose records lack those fields
// pauses with a reason that names them.
func (*Element) DefaultPollerFor(name string) (json.RawMessage, bool) {
	r, err := resolve(name)
	if err != nil || r.me {
		return nil, false
	}

	cfg := map[string]any{
		"url":     "/hubs/crm/" + name + "?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
		"idField": r.pk,
		"datesConfiguration": map[string]any{
			"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss", "updatedDateTimezone": "GMT",
			"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss", "createdDateTimezone": "GMT",
		},
	}
	b, err := json.Marshal(cfg)
	return b, err == nil
}
