package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/netguard/netguardtest"
)

func TestCheckTable(t *testing.T) {
	t.Parallel()
	for _, c := range netguardtest.Cases {
		ip := netip.MustParseAddr(c.Addr)
		err := netguard.Check(ip)
		if c.Public != (err == nil) {
			t.Errorf("Check(%s) = %v, want public=%v (%s)", c.Addr, err, c.Public, c.Why)
		}
		if err != nil && !errors.Is(err, netguard.ErrBlocked) {
			t.Errorf("Check(%s): %v does not match ErrBlocked", c.Addr, err)
		}
		// The dialler's hook sees the address as the kernel will.
		ctlErr := netguard.Control("tcp", netip.AddrPortFrom(ip.WithZone(""), 443).String(), nil)
		if c.Public != (ctlErr == nil) {
			t.Errorf("Control(%s) = %v, want public=%v", c.Addr, ctlErr, c.Public)
		}
	}
}

func TestControlRefusesOtherNetworks(t *testing.T) {
	t.Parallel()
	if err := netguard.Control("udp", "8.8.8.8:53", nil); err == nil {
		t.Error("udp allowed")
	}
	if err := netguard.Control("tcp", "not-an-address", nil); err == nil {
		t.Error("unparsable address allowed")
	}
}

// TestPublicDialerRefusesBeforeConnecting dials a real listener on
// loopback: the dialler must refuse it without connecting.
func TestPublicDialerRefusesBeforeConnecting(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	_, err = netguard.PublicDialer().DialContext(context.Background(), "tcp", ln.Addr().String())
	if !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("dial loopback: %v, want ErrBlocked", err)
	}
	select {
	case <-accepted:
		t.Fatal("the listener accepted a connection")
	default:
	}
}

func TestCheckPort(t *testing.T) {
	t.Parallel()
	for port, ok := range map[string]bool{"": true, "1": true, "443": true, "65535": true, "0": false, "65536": false, "99999": false, "-1": false, "x": false} {
		if err := netguard.CheckPort(port); (err == nil) != ok {
			t.Errorf("CheckPort(%q) = %v, want ok=%v", port, err, ok)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dns := netguardtest.DNS{"ok.example": {"93.184.216.34", "2606:4700:4700::1111"}, "rebind.example": {"93.184.216.34", "10.0.0.7"},
		"mapped.example": {"::ffff:127.0.0.1"}}
	if addrs, err := netguard.Resolve(context.Background(), dns, "ok.example"); err != nil || len(addrs) != 2 {
		t.Errorf("ok.example: %v %v", addrs, err)
	}
	for host, want := range map[string]string{
		"rebind.example":  "rebind.example resolves to 10.0.0.7",
		"mapped.example":  "mapped.example resolves to 127.0.0.1",
		"localhost":       "localhost is this machine",
		"a.b.localhost.":  "is this machine",
		"nowhere.example": "cannot be resolved",
	} {
		_, err := netguard.Resolve(context.Background(), dns, host)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", host, err, want)
		}
	}
}

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	l, err := netguard.ParseAllowList(" 127.0.0.1:8080, Sim.Local ,[::1]:9000,[fd00::5]")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.String(); got != "127.0.0.1:8080,sim.local,[::1]:9000,fd00::5" {
		t.Errorf("parsed %q", got)
	}
	allowed := []struct {
		host, port string
		ok         bool
	}{
		{"127.0.0.1", "8080", true}, {"127.0.0.1", "8081", false}, {"sim.local", "1", true}, {"SIM.LOCAL.", "443", true},
		{"::1", "9000", true}, {"::1", "80", false}, {"fd00::5", "443", true}, {"::ffff:127.0.0.1", "8080", true},
		{"10.0.0.1", "8080", false}, {"sim.local.evil.example", "443", false},
	}
	for _, a := range allowed {
		if l.Allows(a.host, a.port) != a.ok {
			t.Errorf("Allows(%s, %s) = %v", a.host, a.port, !a.ok)
		}
	}
	for _, bad := range []string{"http://x", "10.0.0.0/8", "*.example.com", "host:99999", "host:", ":80"} {
		if _, err := netguard.ParseAllowList(bad); err == nil {
			t.Errorf("ParseAllowList(%q) accepted", bad)
		}
	}
}
