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
		{"User\tu,\tOrganization \t o", Credentials{User: "u", Organization: "o"}, ""},
		{"User u Organization o", Credentials{}, "is a comma missing"},
		{"USER a, user b", Credentials{}, "names User twice"},
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

// Secrets in malformed headers: fixed, so no run depends on chance, and
// with no four characters in a row that an error message could hold.
var (
	secretU = "Y8pLwdDq3ZxK7vQj9mRt2WfHb6NcTs4Ge1Ua0Ki5Po="
	secretO = "Zq7XvB2nM9kW4rT8yP3sL6dF1hJ5gC0aE+uI/oQxVc="
	secretE = "Hk3Rw9Tz+Bq7Mv2Xn8Yp/Jd5Lf1Gs4Cu6Ea0Io9Ub="
	secretN = "ßëçrêtÜñî©ødé€ŁøñgŠêçrėt"
)

// malformedHeaders are headers a client might send by mistake, with the
// secrets above in them. Some parse (tabs separate as spaces do; a
// non-ASCII value is only a wrong secret); the others must fail without
// repeating any of them.
var malformedHeaders = []string{
	"User\t" + secretU + ", Organization\t" + secretO,
	"User\t" + secretU,
	"User " + secretU + " Organization " + secretO,
	"User " + secretU + ", Organization " + secretO + " Element " + secretE,
	"User " + secretU + " " + secretE,
	secretU,
	secretU + ", " + secretO,
	secretU + " " + secretO,
	"Bearer " + secretU,
	"Basic " + secretU + secretO,
	"User:" + secretU + ", Organization:" + secretO,
	"User=" + secretU,
	"Usr " + secretU + ", Organization " + secretO,
	secretU[:20] + " " + secretU[20:],
	"User " + secretU + "; Organization " + secretO,
	"User " + secretU + ",, Organization " + secretO,
	"User " + secretU + ", User " + secretO,
	"User " + secretU + ", Organization " + secretO + ", Element " + secretE + ", Extra " + secretE,
	"User " + secretU + ", Organization",
	"User " + secretU + ", " + secretO,
	"Element " + secretE + ", " + secretU,
	"User " + strings.Repeat(secretU, 200),
	strings.Repeat(secretU, 200),
	"User " + secretN + ", Organization " + secretO,
	secretN + " " + secretU,
	"Ûser " + secretU,
	"User " + secretU + "\t" + secretO,
	"\t" + secretU + "\t",
}

// echoedSecret returns the first four characters in a row of a secret
// that msg repeats, or "".
func echoedSecret(msg string) string {
	for _, s := range []string{secretU, secretO, secretE, secretN} {
		r := []rune(s)
		for i := 0; i+4 <= len(r); i++ {
			if strings.Contains(msg, string(r[i:i+4])) {
				return string(r[i : i+4])
			}
		}
	}
	return ""
}

func TestParseErrorsRepeatNoSecret(t *testing.T) {
	t.Parallel()
	failed := 0
	for _, header := range malformedHeaders {
		_, err := Parse(header)
		if err == nil {
			continue
		}
		failed++
		if s := echoedSecret(err.Error()); s != "" {
			t.Errorf("Parse(%.12q…) error repeats %q: %v", header, s, err)
		}
	}
	if failed < len(malformedHeaders)-5 {
		t.Errorf("only %d of %d malformed headers were refused", failed, len(malformedHeaders))
	}
}
