package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswords(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "correct horse") || !strings.HasPrefix(h, "$2") {
		t.Fatalf("hash %q", h)
	}
	if !CheckPassword(h, "correct horse") {
		t.Error("the right password is refused")
	}
	for _, wrong := range []string{"", "correct hors", "correct horse ", strings.Repeat("x", 73)} {
		if CheckPassword(h, wrong) {
			t.Errorf("%q accepted", wrong)
		}
	}
	if CheckPassword("", "correct horse") || CheckPassword("garbage", "correct horse") {
		t.Error("a missing or malformed hash matched")
	}
	if _, err := HashPassword(""); !errors.Is(err, ErrPasswordEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := HashPassword(strings.Repeat("é", 37)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("74 bytes: %v", err)
	}
	if _, err := HashPassword(strings.Repeat("x", 72)); err != nil {
		t.Errorf("72 bytes: %v", err)
	}
	a, b := NewPassword(), NewPassword()
	if a == b || len(a) < 20 || ValidPassword(a) != nil {
		t.Errorf("generated %q %q", a, b)
	}
}
