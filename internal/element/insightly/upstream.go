package insightly

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/netguard"
)

// apiHost is an Insightly API host: api.<pod>.insightly.com, nothing
// before or after it.
var apiHost = regexp.MustCompile(`^api\.[a-z0-9-]+\.insightly\.com$`)

// NotAllowedError is an API URL the server will not call: not one of
// Insightly's own API hosts (https, port 443) and not on the operator's
// --allow-upstream list, or a redirect away from the host called.
type NotAllowedError struct {
	Origin string // scheme://host[:port] of the refused URL
	Reason string
}

func (e *NotAllowedError) Error() string {
	return e.Origin + " " + e.Reason
}

// Unwrap makes errors.Is(err, element.ErrUpstreamNotAllowed) hold.
func (e *NotAllowedError) Unwrap() error { return element.ErrUpstreamNotAllowed }

// Upstreams decides which API URLs an instance may name and the client
// may dial: Insightly's own API hosts over https on port 443, judged
// again on the address dialled (it must be public), plus the hosts the
// operator allows (--allow-upstream), which may be anywhere, loopback
// included: the only way to reach the simulator, or a proxy.
type Upstreams struct {
	Allow netguard.AllowList
	// Resolver looks up Insightly's hosts; default net.DefaultResolver.
	Resolver netguard.Resolver
}

// Check refuses an API root the client must not call.
func (p Upstreams) Check(u *url.URL) error {
	origin := u.Scheme + "://" + u.Host
	if u.Scheme != "https" && u.Scheme != "http" {
		return &NotAllowedError{Origin: origin, Reason: "is not an http(s) URL"}
	}
	host, port := strings.ToLower(u.Hostname()), effectivePort(u)
	if err := netguard.CheckPort(u.Port()); err != nil {
		return &NotAllowedError{Origin: origin, Reason: "has a bad port: " + err.Error()}
	}
	if p.Allow.Allows(host, port) {
		return nil
	}
	if u.Scheme == "https" && port == "443" && apiHost.MatchString(host) {
		return nil
	}
	return &NotAllowedError{Origin: origin, Reason: "is not an Insightly API host (https://api.<pod>.insightly.com); " +
		"the server's operator can allow other hosts with --allow-upstream"}
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

// dial connects only where Check allows: an operator-allowed host:port
// wherever it is, an Insightly API host on 443 only at a public address.
func (p Upstreams) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if p.Allow.Allows(host, port) {
		return (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	}
	if port == "443" && apiHost.MatchString(strings.ToLower(host)) {
		// Resolve and judge every address, then dial a judged one by
		// address (the dialler's Control judges it once more).
		addrs, err := netguard.Resolve(ctx, p.Resolver, host)
		if err != nil {
			if errors.Is(err, netguard.ErrBlocked) {
				return nil, &NotAllowedError{Origin: "https://" + host, Reason: "is refused: " + err.Error()}
			}
			return nil, err
		}
		d := netguard.PublicDialer()
		for _, a := range addrs {
			var conn net.Conn
			if conn, err = d.DialContext(ctx, network, net.JoinHostPort(a.String(), port)); err == nil {
				return conn, nil
			}
		}
		return nil, err
	}
	return nil, &NotAllowedError{Origin: addr, Reason: "is not an allowed upstream"}
}

// Client is an HTTP client that connects only where p allows, follows
// redirects only within the host it called, and never uses a proxy from
// the environment (which would move the decision elsewhere).
func (p Upstreams) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:           p.dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: sameOrigin}
}

// sameOrigin follows a redirect only to the scheme and host first called.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return &NotAllowedError{Origin: first.Scheme + "://" + first.Host, Reason: "redirected to another host, which is refused"}
	}
	return nil
}

// describeNotAllowed is the text shown for a refused upstream.
func describeNotAllowed(err error) (string, bool) {
	var na *NotAllowedError
	if errors.As(err, &na) {
		return fmt.Sprintf("the Insightly API URL %s", na.Error()), true
	}
	return "", false
}
