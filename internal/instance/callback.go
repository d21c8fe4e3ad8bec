package instance

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/pollhook/pollhook/internal/netguard"
)

// checkCallback refuses callback URLs pollhook should not post to: not
// http(s), credentials in the URL, a port outside 1–65535, or, unless the
// server allows private callbacks, a host that is or resolves to an
// address outside the public Internet (netguard: loopback, private,
// link-local, CGNAT and the other IANA special-purpose ranges), so an
// instance cannot turn pollhook against the network it runs in. Delivery
// checks the address again when it connects, since DNS answers change.
func (s *Service) checkCallback(ctx context.Context, raw string) error {
	field := "configuration." + KeyCallbackURL
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return invalid(field, "is not a URL: %v", errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid(field, "must be an http:// or https:// URL, not %q", raw)
	case u.Host == "" || u.Hostname() == "":
		return invalid(field, "has no host")
	case u.User != nil:
		return invalid(field, "must not carry credentials; use %s and %s", KeyBasicUsername, KeyBasicPassword)
	case u.Fragment != "":
		return invalid(field, "must not have a #fragment")
	}
	if err := netguard.CheckPort(u.Port()); err != nil {
		return invalid(field, "%v", err)
	}
	if s.AllowPrivateCallbacks {
		return nil
	}
	var unresolved *netguard.UnresolvedError
	switch err := netguard.CheckHost(ctx, s.resolver(), u.Hostname()); {
	case errors.As(err, &unresolved):
		return invalid(field, "%v", err)
	case err != nil:
		return invalid(field, "%v; callbacks must reach a public host", err)
	}
	return nil
}
