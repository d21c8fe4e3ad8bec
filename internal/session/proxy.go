package session

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrusted reads a comma-separated list of CIDR prefixes and single
// addresses (10.0.0.0/8, 192.0.2.7, ::1) naming the proxies whose
// X-Forwarded-For and X-Forwarded-Proto headers are believed.
func ParseTrusted(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix: %w", f, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the request's direct peer address.
func peer(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap(), true
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a
// port or in brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return a.Unmap(), err == nil
}

// ClientAddr is the address of the client that sent r. X-Forwarded-For is
// believed only when the direct peer is a trusted proxy; then the header
// is walked from the right, past every trusted hop, and the first
// untrusted address is the client (a client can put anything on the
// left, but not on the right of what its proxy appends). An unreadable
// entry stops the walk at the last hop known. Without trusted proxies it
// is simply the peer.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	addr, ok := peer(r)
	if !ok {
		return r.RemoteAddr
	}
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		next, ok := parseHop(hops[i])
		if !ok {
			break
		}
		addr = next
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr.String()
}

// PublicScheme is the scheme the client used: "https" or "http". It
// believes X-Forwarded-Proto only from a trusted peer; otherwise it is
// "https" when r came over TLS.
func PublicScheme(r *http.Request, trusted []netip.Prefix) string {
	if a, ok := peer(r); ok && isTrusted(a, trusted) {
		if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
			first, _, _ := strings.Cut(v, ",")
			switch strings.ToLower(strings.TrimSpace(first)) {
			case "https":
				return "https"
			case "http":
				return "http"
			}
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// IsHTTPS says whether the client reached pollhook over HTTPS (see
// PublicScheme).
func IsHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	return PublicScheme(r, trusted) == "https"
}
