package instance

import (
	"net/url"
	"strings"

	"github.com/pollhook/pollhook/internal/element"
)

// callbackSecrets travel with every notification to the callback URL.
var callbackSecrets = []string{KeyBasicPassword, KeyCallbackHeaders}

// secretsFollow enforces that a stored secret only ever goes where it was
// entered. When a change sends the element's credentials to another
// destination (a new base.url or pod), every stored element secret that
// stays must be given again, literally, in the same request: the mask
// ******** does not count, or an API client with the organization's
// secrets could point the instance at its own server and receive the
// stored key. Likewise the callback's password and headers when the
// callback URL moves to another origin.
func secretsFollow(el element.Element, before, after map[string]string, literal map[string]bool) error {
	from, errFrom := el.Destination(before)
	to, errTo := el.Destination(after)
	if errFrom != nil || errTo != nil || from != to {
		for _, f := range el.ConfigFields() {
			if f.Secret && after[f.Key] != "" && before[f.Key] != "" && !literal[f.Key] {
				return invalid("configuration."+f.Key, "must be given again (not %s) when the %s API URL changes: "+
					"a stored secret is only ever sent where it was entered", Mask, el.Info().Name)
			}
		}
	}
	if origin(before[KeyCallbackURL]) != origin(after[KeyCallbackURL]) {
		for _, k := range callbackSecrets {
			if after[k] != "" && before[k] != "" && !literal[k] {
				return invalid("configuration."+k, "must be given again (not %s) or removed when %s moves to another host: "+
					"a stored secret is only ever sent where it was entered", Mask, KeyCallbackURL)
			}
		}
	}
	return nil
}

// origin is scheme://host:port of a URL, lower case; "" if it has none.
func origin(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
