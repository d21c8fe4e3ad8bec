package auth

import (
	"crypto/rand"
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// Password errors. Neither repeats the password.
var (
	ErrPasswordEmpty   = errors.New("the password is empty")
	ErrPasswordTooLong = errors.New("the password is longer than 72 bytes, the most bcrypt reads")
)

// MaxPasswordBytes is bcrypt's limit: it ignores anything past 72 bytes,
// so longer passwords are refused rather than silently cut.
const MaxPasswordBytes = 72

// PasswordCost is bcrypt's work factor for new password hashes. Tests
// lower it (before anything hashes) to keep them fast; checking reads the
// cost from each hash.
var PasswordCost = bcrypt.DefaultCost

// MinPasswordCost is the lowest cost bcrypt accepts, for tests.
const MinPasswordCost = bcrypt.MinCost

// ValidPassword says why pw cannot be a password, or nil.
func ValidPassword(pw string) error {
	switch {
	case pw == "":
		return ErrPasswordEmpty
	case len(pw) > MaxPasswordBytes:
		return ErrPasswordTooLong
	}
	return nil
}

// HashPassword returns pw's bcrypt hash, the form in which console
// passwords are stored. Unlike API secrets, passwords are chosen by
// people and may be guessable, so they get a slow, salted hash.
func HashPassword(pw string) (string, error) {
	if err := ValidPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), PasswordCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// CheckPassword tells whether pw matches hash (from HashPassword). An
// empty or malformed hash matches nothing.
func CheckPassword(hash, pw string) bool {
	if hash == "" || ValidPassword(pw) != nil {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// NewPassword returns a random password for a person to copy: 26
// characters of base32 (130 bits), from crypto/rand.
func NewPassword() string { return rand.Text() }
