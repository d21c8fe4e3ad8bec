// Package netguard decides which network addresses pollhook may connect
// to on a tenant's behalf. Tenants supply URLs (callbacks, an Insightly
// API root); each is a way to make the server connect somewhere, so every
// such connection is judged on the address actually dialled, after DNS,
// against the IANA special-purpose registries: loopback, private,
// link-local, CGNAT, documentation, benchmarking, reserved and multicast
// ranges are refused, and addresses that embed an IPv4 address (NAT64,
// 6to4, IPv4-mapped and -compatible) are judged by that address.
//
// The registries come from code.dny.dev/ssrf, which is generated from
// IANA's; this package adds the embedded-IPv4 rules and the operator's
// allow list (see AllowList).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// ErrBlocked is a refused destination: an address that is not on the
// public Internet.
var ErrBlocked = errors.New("the address is not on the public Internet")

// BlockedError names the refused address, and the host name that led to
// it when there was one; it can be shown to the tenant who supplied the
// URL, who already knows both.
type BlockedError struct {
	Host string // the name looked up, if any
	Addr netip.Addr
}

func (e *BlockedError) Error() string {
	switch {
	case e.Host != "" && !e.Addr.IsValid():
		return e.Host + " is this machine, not a public host"
	case e.Host != "":
		return fmt.Sprintf("%s resolves to %s, which is not on the public Internet", e.Host, e.Addr)
	}
	return e.Addr.String() + " is not on the public Internet"
}

// Unwrap makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Unwrap() error { return ErrBlocked }

var (
	// guardian applies the registries; ports are checked by callers (a
	// callback may listen on any port), networks by Control.
	guardian = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

	nat64  = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known prefix
	sixTo4 = netip.MustParsePrefix("2002::/16")    // RFC 3056
)

// Check reports whether ip may be dialled: nil for a public address,
// a *BlockedError otherwise.
func Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &BlockedError{Addr: ip}
	}
	ip = ip.WithZone("")
	if v4, ok := embeddedIPv4(ip); ok {
		if err := Check(v4); err != nil {
			return &BlockedError{Addr: ip}
		}
		return nil
	}
	if err := guardian.SafeAddr(ip); err != nil {
		return &BlockedError{Addr: ip}
	}
	return nil
}

// embeddedIPv4 is the IPv4 address an IPv6 address stands for, where the
// packet would in effect go to it: IPv4-mapped (::ffff:a.b.c.d), NAT64
// (64:ff9b::a.b.c.d; refusing the whole prefix would break delivery on
// DNS64 networks) and 6to4 (2002:AABB:CCDD::/48). The deprecated
// IPv4-compatible form (::a.b.c.d) is not decoded: it is outside the
// global unicast range, so refused whatever it embeds.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case ip.Is4In6():
		return ip.Unmap(), true
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixTo4.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Control is a net.Dialer Control function that refuses every address
// Check refuses, and any network but TCP.
func Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("netguard: network %q is not allowed", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: %q is not an address: %w", address, err)
	}
	return Check(ap.Addr())
}

// PublicDialer dials only public addresses (see Check), judged after DNS
// on the address it connects to, so a name that resolves differently
// from when the URL was accepted gains nothing.
func PublicDialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: Control}
}

// CheckPort refuses a port outside 1–65535; url.Parse accepts any digits.
func CheckPort(port string) error {
	if port == "" {
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s is not between 1 and 65535", port)
	}
	return nil
}

// Resolver looks up host names; *net.Resolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// CheckHost judges a URL's host before it is stored: an address literal
// by Check, localhost by name, any other name by every address it
// resolves to now. The dialer judges again when it connects, since DNS
// answers change.
func CheckHost(ctx context.Context, r Resolver, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		return Check(ip)
	}
	_, err := Resolve(ctx, r, host)
	return err
}

// Resolve looks host up and returns its addresses if every one is public
// (a name with one internal address among public ones is how DNS
// rebinding starts, so it is refused whole), else a *BlockedError or an
// *UnresolvedError.
func Resolve(ctx context.Context, r Resolver, host string) ([]netip.Addr, error) {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return nil, &BlockedError{Host: host}
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	found, err := r.LookupIPAddr(ctx, host)
	if err != nil || len(found) == 0 {
		return nil, &UnresolvedError{Host: host}
	}
	addrs := make([]netip.Addr, 0, len(found))
	for _, a := range found {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if err := Check(ip); err != nil {
			return nil, &BlockedError{Host: host, Addr: ip}
		}
		addrs = append(addrs, ip)
	}
	if len(addrs) == 0 {
		return nil, &UnresolvedError{Host: host}
	}
	return addrs, nil
}

// UnresolvedError is a host name with no address.
type UnresolvedError struct{ Host string }

func (e *UnresolvedError) Error() string { return fmt.Sprintf("host %q cannot be resolved", e.Host) }
