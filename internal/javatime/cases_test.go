package javatime

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// goldenCase is one row of testdata/cases.json, which records Java's
// documented SimpleDateFormat behaviour letter by letter.
type goldenCase struct {
	Note    string `json:"note"`    // section heading; rows with only a note are skipped
	Pattern string `json:"pattern"` // the SimpleDateFormat pattern
	Time    string `json:"time"`    // RFC 3339 instant to format, and the expected parse result
	Zone    string `json:"zone"`    // IANA zone to format in and parse with ("" = the offset in Time; UTC for parsing)
	Text    string `json:"text"`    // the formatted text
	Dir     string `json:"dir"`     // "format" or "parse" to test one direction only
	Parsed  string `json:"parsed"`  // expected parse result when the pattern loses information
	Now     string `json:"now"`     // clock for the two-digit-year window (default 2026-06-01)
}

// fixedNow is the clock for parse tests: two-digit years then fall in
// 1946-06-01 .. 2046-05-31.
var fixedNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func loadCases(t *testing.T) []goldenCase {
	t.Helper()
	data, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestGoldenCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t) {
		if c.Note != "" {
			continue
		}
		t.Run(c.Pattern+"|"+c.Text, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(c.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			tm := mustTime(t, c.Time)
			loc := time.UTC
			if c.Zone != "" {
				loc = mustLoc(t, c.Zone)
				tm = tm.In(loc)
			}
			if c.Dir != "parse" {
				if got := p.Format(tm); got != c.Text {
					t.Errorf("Format(%v) = %q, want %q", tm, got, c.Text)
				}
			}
			if c.Dir == "format" {
				return
			}
			want := tm
			if c.Dir == "parse" {
				want = mustTime(t, c.Time) // keep the offset the text states
			}
			if c.Parsed != "" {
				want = mustTime(t, c.Parsed)
			}
			now := fixedNow
			if c.Now != "" {
				now = mustTime(t, c.Now)
			}
			got, err := p.parse(c.Text, loc, func() time.Time { return now })
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.Text, err)
			}
			_, gotOff := got.Zone()
			_, wantOff := want.Zone()
			if !got.Equal(want) || gotOff != wantOff {
				t.Errorf("Parse(%q) = %v, want %v", c.Text, got, want)
			}
		})
	}
}
