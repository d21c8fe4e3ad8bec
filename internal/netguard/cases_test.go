package netguard_test

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// Case is one row of testdata/addresses.txt.
type Case struct {
	Addr   string
	Public bool
	Why    string
}

func cases(t *testing.T) []Case {
	t.Helper()
	f, err := os.Open("testdata/addresses.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Case
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || (f[1] != "public" && f[1] != "blocked") {
			t.Fatalf("bad line %q", line)
		}
		if _, err := netip.ParseAddr(f[0]); err != nil {
			t.Fatalf("bad address %q: %v", f[0], err)
		}
		out = append(out, Case{Addr: f[0], Public: f[1] == "public", Why: strings.Join(f[2:], " ")})
	}
	if len(out) < 40 {
		t.Fatalf("only %d cases", len(out))
	}
	return out
}
