// Package auth reads Cloud Elements' Authorization header and makes and
// checks the secrets it carries.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Credentials are the parts of an Authorization header:
// "User <secret>, Organization <secret>[, Element <token>]".
type Credentials struct {
	User         string
	Organization string
	Element      string
}

// ErrMissing means there was no Authorization header at all.
var ErrMissing = errors.New("the Authorization header is missing")

// Parse reads the header. Parts are comma-separated "Scheme value" pairs
// in any order; scheme names match case-insensitively; values are
// base64-ish and may contain '+', '/' and '='.
func Parse(header string) (Credentials, error) {
	var c Credentials
	if strings.TrimSpace(header) == "" {
		return c, ErrMissing
	}
	for part := range strings.SplitSeq(header, ",") {
		scheme, value, ok := strings.Cut(strings.TrimSpace(part), " ")
		value = strings.TrimSpace(value)
		if !ok || value == "" {
			return c, fmt.Errorf("the Authorization header part %q is not \"Scheme value\"", clip(part))
		}
		var dst *string
		switch strings.ToLower(scheme) {
		case "user":
			dst = &c.User
		case "organization":
			dst = &c.Organization
		case "element":
			dst = &c.Element
		default:
			return c, fmt.Errorf("the Authorization header has an unknown scheme %q (want User, Organization, Element)", clip(scheme))
		}
		if *dst != "" {
			return c, fmt.Errorf("the Authorization header names %s twice", scheme)
		}
		*dst = value
	}
	return c, nil
}

// clip keeps error messages from echoing a whole secret.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 16 {
		return s[:12] + "…"
	}
	return s
}

// NewSecret returns a random secret in Cloud Elements' style: 32 bytes,
// standard base64 (44 characters).
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// Hash is how secrets are stored and looked up. Secrets are 256 random
// bits, so a plain SHA-256 is enough: there is nothing to brute-force.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
