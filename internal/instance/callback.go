package instance

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// checkCallback refuses callback URLs pollhook should not post to: not
// http(s), credentials in the URL, or, unless the server allows private
// callbacks, a host that is or resolves to a loopback, private,
// link-local or otherwise internal address (so an instance cannot turn
// pollhook against the network it runs in). Delivery checks the address
// again when it connects, since DNS answers change.
func (s *Service) checkCallback(ctx context.Context, raw string) error {
	field := "configuration." + KeyCallbackURL
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return invalid(field, "is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid(field, "must be an http:// or https:// URL, not %q", raw)
	case u.Host == "" || u.Hostname() == "":
		return invalid(field, "has no host")
	case u.User != nil:
		return invalid(field, "must not carry credentials; use %s and %s", KeyBasicUsername, KeyBasicPassword)
	case u.Fragment != "":
		return invalid(field, "must not have a #fragment")
	}
	if s.AllowPrivateCallbacks {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if internal(ip) {
			return invalid(field, "points at %s, an internal address; callbacks must reach a public host", ip)
		}
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return invalid(field, "points at localhost; callbacks must reach a public host")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := s.resolver().LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return invalid(field, "host %q cannot be resolved", host)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ok && internal(ip.Unmap()) {
			return invalid(field, "host %q resolves to %s, an internal address; callbacks must reach a public host", host, ip.Unmap())
		}
	}
	return nil
}

// sharedAddressSpace is carrier-grade NAT (RFC 6598), internal like the
// private ranges.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// internal reports addresses that are not on the public Internet.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedAddressSpace.Contains(ip) ||
		net.IP(ip.AsSlice()).Equal(net.IPv4bcast)
}
