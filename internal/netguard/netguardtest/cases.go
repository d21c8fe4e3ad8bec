// Package netguardtest holds one table of destination addresses that
// every guard's tests share: netguard.Check, the callback URL check
// (internal/instance), the delivery sender's dialler (internal/delivery)
// and the Insightly upstream dialler (internal/element/insightly).
package netguardtest

import (
	"context"
	"errors"
	"net"
)

// Case is one address and whether pollhook may connect to it.
type Case struct {
	Addr   string
	Public bool
	Why    string
}

// Cases are the IANA special-purpose ranges, their edges, and addresses
// that embed an IPv4 address.
var Cases = []Case{
	{"8.8.8.8", true, "Google DNS"},
	{"1.1.1.1", true, ""},
	{"93.184.216.34", true, "example.com"},
	{"100.63.255.255", true, "just below CGNAT"},
	{"100.128.0.1", true, "just above CGNAT"},
	{"2606:4700:4700::1111", true, ""},
	{"2001:4860:4860::8888", true, ""},
	{"::ffff:8.8.8.8", true, "IPv4-mapped public address"},
	{"64:ff9b::808:808", true, "NAT64 of 8.8.8.8 (DNS64 networks must keep working)"},
	{"2002:808:808::1", true, "6to4 of 8.8.8.8"},
	{"127.0.0.1", false, "loopback"},
	{"127.255.255.254", false, "loopback"},
	{"10.1.2.3", false, "private"},
	{"172.16.0.1", false, "private"},
	{"172.31.255.255", false, "private"},
	{"192.168.1.1", false, "private"},
	{"169.254.169.254", false, "link-local: cloud metadata"},
	{"100.64.0.1", false, "CGNAT, RFC 6598"},
	{"0.0.0.0", false, "this host"},
	{"0.1.2.3", false, "this network, RFC 791"},
	{"240.0.0.1", false, "reserved, RFC 1112"},
	{"255.255.255.255", false, "broadcast"},
	{"224.0.0.1", false, "multicast"},
	{"239.255.255.250", false, "multicast (SSDP)"},
	{"198.18.0.1", false, "benchmarking, RFC 2544"},
	{"198.19.255.255", false, "benchmarking"},
	{"192.0.0.1", false, "IETF protocol assignments"},
	{"192.0.0.170", false, "NAT64 discovery"},
	{"192.0.2.1", false, "TEST-NET-1"},
	{"198.51.100.7", false, "TEST-NET-2"},
	{"203.0.113.9", false, "TEST-NET-3"},
	{"192.88.99.1", false, "6to4 relay anycast"},
	{"::", false, "unspecified"},
	{"::1", false, "loopback"},
	{"fe80::1", false, "link-local"},
	{"fe80::1%eth0", false, "link-local with a zone"},
	{"fec0::1", false, "site-local, deprecated"},
	{"fd00::1", false, "unique local"},
	{"fc00::1", false, "unique local"},
	{"ff02::1", false, "multicast"},
	{"::127.0.0.1", false, "IPv4-compatible, deprecated"},
	{"::8.8.8.8", false, "IPv4-compatible, deprecated, whatever it embeds"},
	{"::ffff:127.0.0.1", false, "IPv4-mapped loopback"},
	{"::ffff:10.0.0.1", false, "IPv4-mapped private"},
	{"::ffff:169.254.169.254", false, "IPv4-mapped metadata"},
	{"64:ff9b::7f00:1", false, "NAT64 of 127.0.0.1"},
	{"64:ff9b::a00:1", false, "NAT64 of 10.0.0.1"},
	{"64:ff9b::a9fe:a9fe", false, "NAT64 of 169.254.169.254"},
	{"64:ff9b:1::808:808", false, "local-use NAT64, RFC 8215"},
	{"2002:7f00:1::1", false, "6to4 of 127.0.0.1"},
	{"2002:c0a8:101::1", false, "6to4 of 192.168.1.1"},
	{"2002:a9fe:a9fe::1", false, "6to4 of 169.254.169.254"},
	{"2001::1", false, "Teredo"},
	{"2001:db8::1", false, "documentation"},
	{"100::1", false, "discard-only"},
	{"3fff::1", false, "documentation, RFC 9637"},
}

// DNS answers lookups from a table (host → addresses): DNS is the
// boundary the guards' tests stand in for, and test machines cannot
// resolve public names.
type DNS map[string][]string

// LookupIPAddr implements netguard.Resolver.
func (d DNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	for _, ip := range d[host] {
		out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}
