package javatime

import (
	"testing"
	"time"
)

// fuzzTime is the javadoc's reference instant, 2001-07-04 12:08:56.235 PDT.
func fuzzTime(t testing.TB) time.Time {
	return time.Date(2001, 7, 4, 12, 8, 56, 235e6, mustLocTB(t, "America/Los_Angeles"))
}

func mustLocTB(t testing.TB, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var fuzzPatterns = []string{
	"", "yyyy-MM-dd HH:mm:ss", "yyyy.MM.dd G 'at' HH:mm:ss z", "EEE, MMM d, ''yy", "h:mm a",
	"hh 'o''clock' a, zzzz", "K:mm a, z", "yyyyy.MMMMM.dd GGG hh:mm aaa",
	"EEE, d MMM yyyy HH:mm:ss Z", "yyMMddHHmmssZ", "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
	"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "YYYY-'W'ww-u", "milliseconds", "'unterminated",
	"yyyyMMddHHmmssSSS", "D u k K S", "XXXX", "dMMyy", "zZX", "'''", "yyyy-MM-ddTHH",
}

func FuzzCompile(f *testing.F) {
	for _, p := range fuzzPatterns {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		if p.String() != pattern {
			t.Fatalf("String() = %q, want %q", p.String(), pattern)
		}
		tm := fuzzTime(t)
		for _, extra := range []time.Time{{}, time.Date(-500, 2, 29, 23, 0, 0, 0, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(23*3600+59*60+59)))} {
			_ = p.Format(extra)
		}
		s := p.Format(tm)
		if !textRoundTrips(p, tm) {
			_, _ = p.parse(s, tm.Location(), func() time.Time { return fixedNow })
			return
		}
		got, err := p.parse(s, tm.Location(), func() time.Time { return fixedNow })
		if err != nil {
			t.Fatalf("Parse(Format(t)) for %q: %v", pattern, err)
		}
		if s2 := p.Format(got); s2 != s {
			t.Fatalf("pattern %q: Format(t) = %q but Format(Parse(that)) = %q (parsed %v)", pattern, s, s2, got)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, p := range fuzzPatterns {
		f.Add(p, MustCompileOr(p).Format(fuzzTime(f)))
	}
	for _, p := range append(roundTripPatterns, localPatterns...) {
		f.Add(p, MustCompile(p).Format(fuzzTime(f)))
	}
	f.Add("yyyy-MM-dd", "2024-13-01")
	f.Add("yyMMdd", "000229")
	f.Add("z0X", "PDT0-07")
	f.Add("yyyy-MM-dd HH:mm z", "2001-07-04 12:08 GMT-7:00")
	f.Add("MMM d, yyyy", "Jul  4, 2001")
	f.Add("milliseconds", "-99999999999999")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		p, err := Compile(pattern)
		if err != nil {
			return
		}
		now := func() time.Time { return fixedNow }
		got, err := p.parse(text, time.UTC, now)
		if err != nil {
			return
		}
		// Whatever was accepted must format, and that text must be a fixed
		// point: it parses back to something that formats the same.
		s := p.Format(got)
		if !textRoundTrips(p, got) {
			return
		}
		again, err := p.parse(s, time.UTC, now)
		if err != nil {
			t.Fatalf("pattern %q: %q parsed to %v, whose text %q does not parse: %v", pattern, text, got, s, err)
		}
		if s2 := p.Format(again); s2 != s {
			t.Fatalf("pattern %q: %q -> %v -> %q -> %v -> %q", pattern, text, got, s, again, s2)
		}
	})
}

// MustCompileOr compiles seed patterns, returning an empty pattern for the
// ones that are deliberately invalid.
func MustCompileOr(pattern string) *Pattern {
	p, err := Compile(pattern)
	if err != nil {
		return MustCompile("")
	}
	return p
}
