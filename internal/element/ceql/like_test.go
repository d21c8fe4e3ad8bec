package ceql

import (
	"regexp"
	"strings"
	"testing"
)

// likeRegexp is a reference LIKE implementation for ASCII inputs.
func likeRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?is)\A`)
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '\\' && i+1 < len(pat):
			i++
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		case c == '%':
			b.WriteString(`.*`)
		case c == '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		}
	}
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func FuzzLike(f *testing.F) {
	f.Add("a%b_c", "aXXbYc")
	f.Add(`100\%%`, "100% sure")
	f.Add("%a%a%", "banana")
	f.Add(`\`, `\`)
	f.Fuzz(func(t *testing.T, pat, s string) {
		got := compileLike(pat).match(s) // must not panic on any input
		if !isASCII(pat) || !isASCII(s) || len(pat) > 64 {
			return
		}
		if want := likeRegexp(pat).MatchString(s); got != want {
			t.Fatalf("%q LIKE %q = %v, reference says %v", s, pat, got, want)
		}
	})
}
