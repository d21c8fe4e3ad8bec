package instance

import (
	"fmt"
	"net/netip"

	"context"
	"github.com/pollhook/pollhook/internal/netguard/netguardtest"
	"strings"
	"testing"
)

func TestCheckCallback(t *testing.T) {
	t.Parallel()
	s := &Service{Resolver: netguardtest.DNS{
		"hooks.example.com": {"93.184.216.34"},
		"rebind.example":    {"93.184.216.34", "10.0.0.7"},
		"v6.example":        {"2606:2800:220:1:248:1893:25c8:1946"},
		"mapped.example":    {"::ffff:127.0.0.1"},
	}}
	cases := []struct {
		url, err string
	}{
		{"https://hooks.example.com/cb", ""},
		{"http://hooks.example.com:8443/cb?x=1", ""},
		{"https://v6.example/", ""},
		{"https://93.184.216.34/", ""},
		{"https://rebind.example/", "resolves to 10.0.0.7"},
		{"https://hooks.example.com:99999/", "port 99999 is not between 1 and 65535"},
		{"https://hooks.example.com:0/", "port 0"},
		{"https://mapped.example/", "resolves to 127.0.0.1"},
		{"https://nowhere.example/", "cannot be resolved"},
		{"http://192.168.1.1/", "not on the public Internet"},
		{"http://172.16.0.1/", "not on the public Internet"},
		{"http://[fd00::1]/", "not on the public Internet"},
		{"http://[fe80::1]/", "not on the public Internet"},
		{"http://0.0.0.0/", "not on the public Internet"},
		{"http://224.0.0.1/", "not on the public Internet"},
		{"http://app.localhost/", "localhost"},
		{"mailto:x@example.com", "http:// or https://"},
		{"https:///path", "no host"},
		{"https://hooks.example.com/#frag", "fragment"},
	}
	for _, tc := range cases {
		err := s.checkCallback(context.Background(), tc.url)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s refused: %v", tc.url, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: %v, want %q", tc.url, err, tc.err)
		case err != nil && !strings.HasPrefix(err.Error(), "configuration.event.notification.callback.url: "):
			t.Errorf("%s: the error does not name the field: %v", tc.url, err)
		}
	}
	// The shared table, as an address literal and as a name resolving to it.
	dns := netguardtest.DNS{}
	s.Resolver = dns
	for i, c := range netguardtest.Cases {
		ip := netip.MustParseAddr(c.Addr)
		host := fmt.Sprintf("h%d.example", i)
		dns[host] = []string{ip.WithZone("").String()}
		for _, u := range []string{"https://" + netip.AddrPortFrom(ip, 443).String() + "/hook", "https://" + host + "/hook"} {
			err := s.checkCallback(context.Background(), u)
			if c.Public != (err == nil) {
				t.Errorf("%s (%s): %v, want public=%v", u, c.Why, err, c.Public)
			}
		}
	}
	s.AllowPrivateCallbacks = true
	if err := s.checkCallback(context.Background(), "http://127.0.0.1:9000/hook"); err != nil {
		t.Errorf("allowed private callback refused: %v", err)
	}
}
