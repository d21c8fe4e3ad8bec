package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		header string
		want   Credentials
		err    string
	}{
		{"User zyWP+06S=, Organization 4e3127e8", Credentials{User: "zyWP+06S=", Organization: "4e3127e8"}, ""},
		{"User u, Organization o, Element +HQhP/a=", Credentials{"u", "o", "+HQhP/a="}, ""},
		{"Element t,User u", Credentials{User: "u", Element: "t"}, ""},
		{"user u , organization o", Credentials{User: "u", Organization: "o"}, ""},
		{"", Credentials{}, "missing"},
		{"Basic abc", Credentials{}, "unknown scheme"},
		{"User", Credentials{}, "not \"Scheme value\""},
		{"User a, User b", Credentials{}, "twice"},
		{"User a,, Organization b", Credentials{}, "not \"Scheme value\""},
	}
	for _, tc := range cases {
		got, err := Parse(tc.header)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error %v, want %q", tc.header, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v", tc.header, got, err)
		}
	}
	if _, err := Parse(""); !errors.Is(err, ErrMissing) {
		t.Error("empty header is not ErrMissing")
	}
	_, err := Parse("Bogus " + strings.Repeat("s", 40))
	if strings.Contains(err.Error(), strings.Repeat("s", 20)) {
		t.Errorf("error echoes the secret: %v", err)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	a, b := NewSecret(), NewSecret()
	if len(a) != 44 || a == b {
		t.Errorf("secrets %q %q", a, b)
	}
	if string(Hash(a)) == string(Hash(b)) || string(Hash(a)) != string(Hash(a)) || len(Hash(a)) != 32 {
		t.Error("Hash is not a function of the secret")
	}
}
