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
// in any order, the scheme and value separated by spaces or tabs; scheme
// names match case-insensitively; values are base64-ish and may contain
// '+', '/' and '='.
//
// Errors say what is wrong in general terms and which part (by position)
// it is, never any text of the header: a malformed header is often a
// secret with its scheme missing or mangled, and error messages are sent
// back to the client and may be logged by proxies on the way.
func Parse(header string) (Credentials, error) {
	var c Credentials
	if strings.TrimSpace(header) == "" {
		return c, ErrMissing
	}
	i := 0
	for part := range strings.SplitSeq(header, ",") {
		i++
		fields := strings.FieldsFunc(part, func(r rune) bool { return r == ' ' || r == '\t' })
		switch {
		case len(fields) < 2:
			return c, fmt.Errorf("the Authorization header's part %d is not \"Scheme value\"", i)
		case len(fields) > 2:
			return c, fmt.Errorf("the Authorization header's part %d has more than a scheme and a value (is a comma missing?)", i)
		}
		var dst *string
		var name string
		switch strings.ToLower(fields[0]) {
		case "user":
			dst, name = &c.User, "User"
		case "organization":
			dst, name = &c.Organization, "Organization"
		case "element":
			dst, name = &c.Element, "Element"
		default:
			return c, fmt.Errorf("the Authorization header's part %d has an unknown scheme (want User, Organization or Element)", i)
		}
		if *dst != "" {
			return c, fmt.Errorf("the Authorization header names %s twice", name)
		}
		*dst = fields[1]
	}
	return c, nil
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
