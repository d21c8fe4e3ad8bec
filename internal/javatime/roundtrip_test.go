package javatime

import (
	"math/rand/v2"
	"testing"
	"time"
)

// roundTripPatterns pin an instant to the millisecond, so Parse(Format(t))
// must give t back exactly.
var roundTripPatterns = []string{
	"yyyy-MM-dd HH:mm:ss.SSS Z",
	"yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
	"yyyy-MM-dd'T'HH:mm:ss.SSSXX",
	"yyyyMMddHHmmssSSSZ",
	"EEE, d MMM yyyy HH:mm:ss.SSS Z",
	"EEEE, MMMM dd, yyyy hh:mm:ss.SSS a Z",
	"yyyy-DDD'T'kk:mm:ss.SSSZ",
	"G yyyy-MM-dd KK:mm:ss.SSS a XXX",
	"yyyy-MM-dd HH:mm:ss.SSS z",
	"yyyy-MM-dd HH:mm:ss.SSS zzzz",
	"u yyyy LLL dd HH:mm:ss:SSS Z",
	"milliseconds",
}

// localPatterns carry no zone, so they round-trip only in zones without DST
// overlaps.
var localPatterns = []string{
	"yyyy-MM-dd HH:mm:ss.SSS",
	"yyyyMMddHHmmssSSS",
	"dd/MM/yyyy hh:mm:ss.SSS a",
	"yyyy.MM.dd G 'at' HH:mm:ss.SSS",
}

// tzZones use only whole-minute offsets with abbreviations the parser knows
// from 1950 on; earlier years have local mean time and war-time names.
var tzZones = []string{"America/Los_Angeles", "America/Denver", "America/New_York",
	"Asia/Kolkata", "Europe/Paris", "Australia/Sydney", "Asia/Kathmandu", "America/Sao_Paulo"}

func randomTime(r *rand.Rand, minYear, maxYear int, loc *time.Location) time.Time {
	lo := time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	hi := time.Date(maxYear, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	return time.UnixMilli(lo + r.Int64N(hi-lo)).In(loc)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	fixed := []*time.Location{time.UTC, time.FixedZone("", 5*3600+45*60), time.FixedZone("", -9*3600-30*60)}
	var zones []*time.Location
	for _, name := range tzZones {
		zones = append(zones, mustLoc(t, name))
	}
	now := func() time.Time { return fixedNow }
	check := func(pattern string, tm time.Time) {
		t.Helper()
		p := MustCompile(pattern)
		s := p.Format(tm)
		got, err := p.parse(s, tm.Location(), now)
		if err != nil {
			t.Fatalf("%q: Parse(Format(%v)) = %v", pattern, tm, err)
		}
		if !got.Equal(tm) {
			t.Fatalf("%q: Parse(%q) = %v, want %v", pattern, s, got, tm)
		}
		if s2 := p.Format(got); s2 != s {
			t.Fatalf("%q: Format(Parse(%q)) = %q", pattern, s, s2)
		}
	}
	for range 2000 {
		for _, pattern := range roundTripPatterns {
			check(pattern, randomTime(r, 1, 9999, fixed[r.IntN(len(fixed))]))
			check(pattern, randomTime(r, 1950, 2100, zones[r.IntN(len(zones))]))
		}
		for _, pattern := range localPatterns {
			check(pattern, randomTime(r, 1, 9999, fixed[r.IntN(len(fixed))]))
		}
		// Two-digit years round-trip inside the window around fixedNow.
		check("yyMMddHHmmssSSSZ", randomTime(r, 1947, 2045, zones[r.IntN(len(zones))]))
	}
}

// TestRoundTripEveryLetter formats a random time with each supported letter
// at several counts and checks the text survives a parse.
func TestRoundTripEveryLetter(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	la := mustLoc(t, "America/Los_Angeles")
	now := func() time.Time { return fixedNow }
	for _, letter := range "GyMLdDEuaHkKhmsSzZX" {
		for count := 1; count <= 5; count++ {
			if letter == 'X' && count > 3 {
				continue
			}
			pattern := "yyyy-MM-dd "
			for range count {
				pattern += string(letter)
			}
			p := MustCompile(pattern)
			for range 200 {
				tm := randomTime(r, 1950, 2100, la)
				if !textRoundTrips(p, tm) {
					continue
				}
				s := p.Format(tm)
				got, err := p.parse(s, la, now)
				if err != nil {
					t.Fatalf("%q: Parse(%q): %v", pattern, s, err)
				}
				if s2 := p.Format(got); s2 != s {
					t.Fatalf("%q: Format(Parse(%q)) = %q", pattern, s, s2)
				}
			}
		}
	}
}
