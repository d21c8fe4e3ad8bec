// Package seal encrypts the secrets pollhook must be able to read back
// (upstream API keys, signature keys, instance tokens) with AES-256-GCM.
// A sealed value names the key that sealed it, so keys can be rotated:
// seal with the newest, open with any.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// prefix marks the format: "v1:<key id>:<base64(nonce | ciphertext)>".
const prefix = "v1:"

// Keyring holds the keys: the first seals, all open.
type Keyring struct {
	current    string
	currentKey []byte // the current key's bytes, for Derive
	aeads      map[string]cipher.AEAD
}

var keyID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Parse reads keys written as "id:base64key[,id:base64key…]", newest
// first. Each key is 32 random bytes in standard base64. A single key may
// omit its id ("base64key"), which is then "k1".
func Parse(spec string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(strings.TrimSpace(spec), ",") {
		part = strings.TrimSpace(part)
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			id, b64 = "k1", part
		}
		if !keyID.MatchString(id) {
			return nil, fmt.Errorf("seal: key %d: id %q must be 1-32 letters, digits, '-' or '_'", i+1, id)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("seal: key %q must be 32 bytes in standard base64 (openssl rand -base64 32)", id)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("seal: key id %q appears twice", id)
		}
		block, _ := aes.NewCipher(raw)
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		k.aeads[id] = aead
		if i == 0 {
			k.current, k.currentKey = id, raw
		}
	}
	return k, nil
}

// NewKey returns a fresh key in the form Parse reads, with id.
func NewKey(id string) string {
	var b [32]byte
	rand.Read(b[:])
	return id + ":" + base64.StdEncoding.EncodeToString(b[:])
}

// LoadOrCreateFile reads the keyring from path, creating it with one new
// key, readable by the owner only, when it does not exist. It suits a
// single node; replicas must share one configured key instead.
func LoadOrCreateFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		// Write the key to a private temp file, then link it into place:
		// the link is atomic and fails if another process got there first,
		// so nobody ever reads a half-written key.
		tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		defer os.Remove(tmp.Name())
		spec := NewKey("k1")
		_, err = tmp.WriteString(spec + "\n")
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o600)
		}
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
			return LoadOrCreateFile(path)
		} else if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		return Parse(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return Parse(string(b))
}

// Seal encrypts plaintext with the current key. context binds the
// ciphertext to its use (say "config:password"): opened under another
// context it fails, so sealed values cannot be swapped between fields.
func (k *Keyring) Seal(plaintext, context string) string {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	rand.Read(nonce)
	out := aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return prefix + k.current + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// ErrOpen means a sealed value could not be decrypted: wrong key,
// wrong context, or tampering.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Open decrypts a value sealed by any key of the ring.
func (k *Keyring) Open(sealed, context string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	id, b64, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return "", fmt.Errorf("%w: not a sealed value", ErrOpen)
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: sealed with key %q, which is not configured", ErrOpen, id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", fmt.Errorf("%w: malformed", ErrOpen)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}

// Derive returns a 32-byte key for one purpose other than sealing (say
// "pollhook metrics account label"): HMAC-SHA256 of purpose under the
// current key. Every process configured with the same keys derives the
// same key; the derived key reveals nothing of the current key, and keys
// for different purposes are unrelated. A rotation (a new current key)
// changes it.
func (k *Keyring) Derive(purpose string) []byte {
	mac := hmac.New(sha256.New, k.currentKey)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// Current is the id of the key that seals.
func (k *Keyring) Current() string { return k.current }

// Stale tells whether sealed was made with a key other than the current
// one, so a rotation can re-seal it.
func (k *Keyring) Stale(sealed string) bool {
	return !strings.HasPrefix(sealed, prefix+k.current+":")
}
