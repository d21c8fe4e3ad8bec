package instance

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/suggest"
)

// The event configuration keys (spec §3.1).
const (
	KeyEventsEnabled    = "event.notification.enabled"
	KeyVendorType       = "event.vendor.type"
	KeyNotificationType = "event.notification.type"
	KeyCallbackURL      = "event.notification.callback.url"
	KeySignatureKey     = "event.notification.signature.key"
	KeyRefreshInterval  = "event.poller.refresh_interval"
	KeyPollerConfig     = "event.poller.configuration"
	KeyBasicUsername    = "event.notification.basic.username"
	KeyBasicPassword    = "event.notification.basic.password"
	KeyCallbackHeaders  = "event.notification.callback.headers"
)

// RefreshIntervalDefault is the poll period in minutes when none is given,
// Cloud Elements' default for most elements.
const RefreshIntervalDefault = 15

// eventKeys are the event.* keys Cloud Elements defines. The prefix is
// reserved: any other event.* key is a typo and refused.
var eventKeys = []string{
	KeyEventsEnabled, KeyVendorType, KeyNotificationType, KeyCallbackURL, KeySignatureKey,
	KeyRefreshInterval, KeyPollerConfig, KeyBasicUsername, KeyBasicPassword,
	"event.poller.urls", "event.objects", "event.metadata", "event.helper.key",
	"event.notification.instance.finder", "event.notification.subscription.id",
	KeyCallbackHeaders, "event.raw.enabled",
}

// secretKeys are masked and sealed whatever the element says.
var secretKeys = []string{KeySignatureKey, KeyBasicPassword, KeyCallbackHeaders, "oauth.api.key", "oauth.api.secret",
	"oauth.user.token", "oauth.user.refresh_token", "oauth.user.token.secret"}

// isSecret tells whether a configuration value is masked and sealed: the
// element's secret fields, the known secret keys, and anything whose name
// ends like a credential.
func isSecret(el element.Element, key string) bool {
	for _, f := range el.ConfigFields() {
		if f.Key == key {
			return f.Secret
		}
	}
	if slices.Contains(secretKeys, key) {
		return true
	}
	k := strings.ToLower(key)
	for _, suffix := range []string{"password", "secret", "token", "api.key", "apikey", "private.key"} {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// Mask is what every response shows in place of a secret.
const Mask = "********"

// parseBool reads Cloud Elements' boolean strings.
func parseBool(field, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, invalid(field, "must be true or false, not %q", v)
}

// checkConfig validates a complete configuration and normalises it in
// place: defaults filled in, numbers and JSON in canonical form, a
// signature key generated when events are on and none was given. Every
// problem it finds is reported together (see problems); only a size
// limit, checked before anything parses the values, stops it at once.
func (s *Service) checkConfig(ctx context.Context, el element.Element, cfg map[string]string) error {
	if err := s.checkSizes(cfg); err != nil {
		return err
	}
	var p problems
	for _, key := range sortedKeys(cfg) {
		if strings.HasPrefix(key, "event.") && !slices.Contains(eventKeys, key) {
			msg := "is not a Cloud Elements event key"
			if near, ok := suggest.Closest(key, eventKeys); ok {
				msg += "; did you mean " + near + "?"
			}
			p.add(invalid("configuration."+key, "%s", msg))
		}
	}
	if _, err := el.Open(cfg); err != nil {
		if err := p.add(elementError(err)); err != nil {
			return err
		}
	}
	enabled, err := parseBool("configuration."+KeyEventsEnabled, cfg[KeyEventsEnabled])
	if err != nil {
		p.add(err)
	} else if _, ok := cfg[KeyEventsEnabled]; ok {
		cfg[KeyEventsEnabled] = strconv.FormatBool(enabled)
	}
	if v, ok := cfg[KeyVendorType]; ok && v != "polling" {
		p.add(invalid("configuration."+KeyVendorType, "%q is not supported: the %s element supports polling events only", v, el.Info().Name))
	}
	if v, ok := cfg[KeyNotificationType]; ok && v != "webhook" {
		p.add(invalid("configuration."+KeyNotificationType, "%q is not supported: notifications are delivered by webhook", v))
	}
	if u, ok := cfg[KeyCallbackURL]; ok {
		if err := p.add(s.checkCallback(ctx, u)); err != nil {
			return err
		}
	} else if enabled {
		p.add(invalid("configuration."+KeyCallbackURL, "is required when %s is true", KeyEventsEnabled))
	}
	if v, ok := cfg[KeyRefreshInterval]; ok {
		n, err := refreshInterval(v)
		if err != nil {
			p.add(err)
		} else {
			cfg[KeyRefreshInterval] = strconv.Itoa(n)
		}
	} else if enabled {
		cfg[KeyRefreshInterval] = strconv.Itoa(RefreshIntervalDefault)
	}
	if v, ok := cfg[KeyPollerConfig]; ok || enabled {
		if err := p.add(checkPollerConfig(el, cfg, v, ok)); err != nil {
			return err
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	if enabled && strings.TrimSpace(cfg[KeySignatureKey]) == "" {
		cfg[KeySignatureKey] = auth.NewSecret()
	}
	return s.checkKeyCount(cfg)
}

// checkPollerConfig parses event.poller.configuration (v, or the
// element's default when !given), checks that every resource polls the
// element's hub, and stores its canonical form in cfg.
func checkPollerConfig(el element.Element, cfg map[string]string, v string, given bool) error {
	raw := json.RawMessage(v)
	if !given {
		raw = json.RawMessage("{}")
	}
	pc, err := parsePollerConfig(raw, el)
	if err != nil {
		return err
	}
	var p problems
	for _, name := range pc.Names() {
		c, err := pc.Resources[name].Compile()
		if err != nil {
			if err := p.add(pollerError(err)); err != nil {
				return err
			}
			continue
		}
		if hub := el.Info().Hub; c.Hub != hub {
			p.add(invalid("configuration."+KeyPollerConfig+"."+name+".url", "polls the %q hub, but %s serves /hubs/%s/", c.Hub, el.Info().Name, hub))
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	canon, err := pc.MarshalJSON()
	if err != nil {
		return err
	}
	cfg[KeyPollerConfig] = string(canon)
	return nil
}

// elementError turns the element's refusal of a configuration into an
// *Error. Elements word a refusal about a key "configuration.<key>:
// <problem>", which becomes a field error on that key.
func elementError(err error) error {
	var ee *element.Error
	if !errors.As(err, &ee) {
		return err
	}
	if ee.Status == http.StatusBadRequest {
		field, msg, ok := strings.Cut(ee.Message, ": ")
		if ok && strings.HasPrefix(field, "configuration.") && !strings.ContainsAny(field, " \t\n") {
			return invalid(field, "%s", msg)
		}
	}
	return &Error{Status: ee.Status, Message: ee.Message}
}

// parsePollerConfig reads event.poller.configuration. A missing one means
// every resource of the element's default; {} resources take the default
// of the same name.
func parsePollerConfig(raw json.RawMessage, el element.Element) (*pollconfig.Config, error) {
	defaults := withObjectDefaults(raw, el)
	if strings.TrimSpace(string(raw)) == "{}" {
		raw = defaults
	}
	pc, err := pollconfig.Parse(raw, defaults)
	if err != nil {
		return nil, pollerError(err)
	}
	return pc, nil
}

// pollerError turns pollconfig's errors into field errors: each one's
// Field, which starts with event.poller.configuration, prefixed with
// "configuration.".
func pollerError(err error) error {
	var pes pollconfig.Errors
	var pe *pollconfig.Error
	switch {
	case errors.As(err, &pes):
	case errors.As(err, &pe):
		pes = pollconfig.Errors{pe}
	default:
		return invalid("configuration."+KeyPollerConfig, "%v", err)
	}
	fields := make([]FieldError, len(pes))
	for i, e := range pes {
		fields[i] = FieldError{Field: "configuration." + e.Field, Message: e.Message}
	}
	return fieldsError(fields...)
}

// verify checks the credentials against the upstream and names its account.
func (s *Service) verify(ctx context.Context, el element.Element, cfg map[string]string) (element.Identity, error) {
	conn, err := el.Open(cfg)
	if err != nil {
		return element.Identity{}, err
	}
	if s.VerifyTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.VerifyTimeout)
		defer cancel()
	}
	id, err := conn.Identify(ctx)
	if err == nil {
		return id, nil
	}
	switch status := element.StatusOf(err); status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return id, invalid("configuration."+credentialField(el), "%s refused the credentials: %s", el.Info().Name, messageOf(err))
	default:
		return id, &Error{Status: http.StatusBadGateway, Message: "could not verify the credentials with " + el.Info().Name + ": " + messageOf(err)}
	}
}

func messageOf(err error) string {
	var ee *element.Error
	if errors.As(err, &ee) {
		return ee.Message
	}
	return err.Error()
}

// credentialField is the element's secret, required key (Insightly's password).
func credentialField(el element.Element) string {
	for _, f := range el.ConfigFields() {
		if f.Required && f.Secret {
			return f.Key
		}
	}
	return "credentials"
}

// credentialsChanged tells whether an update must be re-verified.
func credentialsChanged(el element.Element, before, after map[string]string) bool {
	for _, f := range el.ConfigFields() {
		if before[f.Key] != after[f.Key] {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// withObjectDefaults is the element's default poller configuration,
// extended with a default for each resource raw names that the element
// knows though its default does not list it (element.PollerDefaulter):
// `"Tasks": {}` works like `"contacts": {}`.
func withObjectDefaults(raw json.RawMessage, el element.Element) json.RawMessage {
	base := el.DefaultPollerConfig()
	pd, ok := el.(element.PollerDefaulter)
	if !ok {
		return base
	}
	var asText string
	if json.Unmarshal(raw, &asText) == nil {
		raw = json.RawMessage(asText)
	}
	var asked, defs map[string]json.RawMessage
	if json.Unmarshal(raw, &asked) != nil || json.Unmarshal(base, &defs) != nil {
		return base
	}
	added := false
	for name := range asked {
		if _, ok := defs[name]; ok {
			continue
		}
		if d, ok := pd.DefaultPollerFor(name); ok {
			defs[name], added = d, true
		}
	}
	if !added {
		return base
	}
	out, err := json.Marshal(defs)
	if err != nil {
		return base
	}
	return out
}
