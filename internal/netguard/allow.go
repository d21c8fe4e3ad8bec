package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// AllowList is the operator's list of hosts that tenants may name although
// the default rules refuse them (`pollhook serve --allow-upstream`): an
// entry is a host name or address, with an optional port. It is the only
// way to let a tenant's URL reach a loopback or private address, so the
// operator names exactly the hosts meant (the simulator in a demo, an
// Insightly proxy), never a network.
type AllowList []HostPort

// HostPort is one entry: Port "" allows every port of Host.
type HostPort struct {
	Host string // lower case; an IPv6 address without brackets
	Port string
}

func (h HostPort) String() string {
	if h.Port == "" {
		return h.Host
	}
	return net.JoinHostPort(h.Host, h.Port)
}

// ParseAllowList reads "HOST[:PORT],…" (IPv6 addresses in brackets when a
// port follows: "[::1]:8443"). Empty entries are skipped.
func ParseAllowList(s string) (AllowList, error) {
	var out AllowList
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if strings.Contains(entry, "/") || strings.Contains(entry, "*") {
			return nil, fmt.Errorf("%q: name a host and optional port (HOST[:PORT]), not a URL, network or pattern", entry)
		}
		host, port := entry, ""
		if h, p, err := net.SplitHostPort(entry); err == nil {
			host, port = h, p
		} else if strings.HasPrefix(entry, "[") && strings.HasSuffix(entry, "]") {
			host = entry[1 : len(entry)-1]
		}
		if err := CheckPort(port); err != nil || (port == "" && strings.HasSuffix(entry, ":")) {
			return nil, fmt.Errorf("%q: port must be between 1 and 65535", entry)
		}
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if host == "" {
			return nil, fmt.Errorf("%q: no host", entry)
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			host = ip.Unmap().String()
		} else if strings.ContainsAny(host, ":[] ") {
			return nil, fmt.Errorf("%q is not HOST or HOST:PORT (put an IPv6 address in brackets)", entry)
		}
		out = append(out, HostPort{Host: host, Port: port})
	}
	return out, nil
}

// Allows reports whether host:port is on the list. host is as in a URL
// (brackets removed); port is the effective port (never empty).
func (l AllowList) Allows(host, port string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	for _, e := range l {
		if e.Host == host && (e.Port == "" || e.Port == port) {
			return true
		}
	}
	return false
}

func (l AllowList) String() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.String()
	}
	return strings.Join(parts, ",")
}
