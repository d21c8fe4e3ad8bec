package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k, err := Parse(NewKey("a"))
	if err != nil {
		t.Fatal(err)
	}
	s := k.Seal("api-key-123", "config:password")
	if strings.Contains(s, "api-key-123") || !strings.HasPrefix(s, "v1:a:") {
		t.Fatalf("sealed %q", s)
	}
	if s2 := k.Seal("api-key-123", "config:password"); s2 == s {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if got, err := k.Open(s, "config:password"); err != nil || got != "api-key-123" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(s, "config:username"); !errors.Is(err, ErrOpen) {
		t.Errorf("wrong context opened: %v", err)
	}
	tampered := s[:len(s)-2] + "AA"
	if _, err := k.Open(tampered, "config:password"); !errors.Is(err, ErrOpen) {
		t.Errorf("tampered value opened: %v", err)
	}
	for _, bad := range []string{"", "plain", "v1:a", "v1:zz:AAAA", "v1:a:!!!"} {
		if _, err := k.Open(bad, "x"); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%q): %v", bad, err)
		}
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := NewKey("old")
	k1, _ := Parse(old)
	sealed := k1.Seal("secret", "c")
	k2, err := Parse(NewKey("new") + "," + old)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(sealed, "c"); err != nil || got != "secret" {
		t.Errorf("new ring cannot open the old key's value: %v", err)
	}
	if !k2.Stale(sealed) || k2.Stale(k2.Seal("x", "c")) || k2.Current() != "new" {
		t.Error("Stale/Current wrong")
	}
	k3, _ := Parse(NewKey("new"))
	if _, err := k3.Open(sealed, "c"); !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), `"old"`) {
		t.Errorf("missing key: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"", "a:short", "bad id!:" + strings.Repeat("A", 44), NewKey("a") + "," + NewKey("a"), "a:" + strings.Repeat("*", 44)} {
		if _, err := Parse(spec); err == nil {
			t.Errorf("Parse(%q) accepted", spec)
		} else if strings.Contains(err.Error(), strings.Repeat("A", 20)) {
			t.Errorf("error echoes key material: %v", err)
		}
	}
	// A bare key gets id k1.
	bare := strings.TrimPrefix(NewKey("x"), "x:")
	if k, err := Parse(bare); err != nil || k.Current() != "k1" {
		t.Errorf("bare key: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "key")
	var wg sync.WaitGroup
	rings := make([]*Keyring, 4)
	for i := range rings {
		wg.Go(func() {
			k, err := LoadOrCreateFile(path)
			if err != nil {
				t.Error(err)
			}
			rings[i] = k
		})
	}
	wg.Wait()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode(), err)
	}
	s := rings[0].Seal("v", "c")
	for _, k := range rings[1:] {
		if got, err := k.Open(s, "c"); err != nil || got != "v" {
			t.Error("processes racing to create the key file ended with different keys")
		}
	}
}

func TestDerive(t *testing.T) {
	t.Parallel()
	a, b := NewKey("a"), NewKey("b")
	k1, _ := Parse(a)
	k2, _ := Parse(a + "," + b) // the same current key, another to open with
	other, _ := Parse(b + "," + a)
	d := k1.Derive("pollhook metrics account label")
	if len(d) != 32 || !bytes.Equal(d, k2.Derive("pollhook metrics account label")) {
		t.Errorf("two keyrings with one current key derive %x and %x", d, k2.Derive("pollhook metrics account label"))
	}
	if bytes.Equal(d, k1.Derive("another purpose")) || bytes.Equal(d, other.Derive("pollhook metrics account label")) {
		t.Error("the derived key does not depend on the purpose and the current key")
	}
	if raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "a:")); bytes.Contains(d, raw[:8]) {
		t.Error("the derived key holds the key")
	}
}
