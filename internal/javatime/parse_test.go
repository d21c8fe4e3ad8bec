package javatime

import (
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, text, want string
	}{
		{"yyyy-MM-dd", "2024-13-01", `parse "2024-13-01" as "yyyy-MM-dd": month 13 out of range at offset 5`},
		{"yyyy-MM-dd", "2024-00-01", "month 0 out of range at offset 5"},
		{"yyyy-MM-dd", "2024-02-30", "day 30 out of range for 2024-02 (29 days) at offset 8"},
		{"yyyy-MM-dd", "2023-02-29", "day 29 out of range for 2023-02 (28 days) at offset 8"},
		{"yyyy-MM-dd", "2024-04-31", "day 31 out of range for 2024-04 (30 days) at offset 8"},
		{"yyyy-MM-dd", "2024-01-32", "day 32 out of range at offset 8"},
		{"yyyy-MM-dd", "2024-01-01x", `unexpected trailing text "x" at offset 10`},
		{"yyyy-MM-dd", "2024-01-01 12:00:00", `unexpected trailing text " 12:00:00" at offset 10`},
		{"yyyy-MM-dd", "2024-01", `expected "-", found end of text at offset 7`},
		{"yyyy-MM-dd", "2024/01/01", `expected "-", found '/' at offset 4`},
		{"yyyy-MM-dd", "abcd-01-01", "expected year digits, found 'a' at offset 0"},
		{"yyyy-MM-dd", "", "expected year digits, found end of text at offset 0"},
		{"yyyy-MM-dd", "0000-01-01", "year 0 out of range at offset 0"},
		{"yyyy", "99999999999", `year "99999999999" out of range at offset 0`},
		{"yyyy", "2024" + strings.Repeat("x", 100), `unexpected trailing text "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... at offset 4`},
		{"yyyy", "292278995", "year 292278995 out of range at offset 0"},
		{"yyyy-MM-dd", "2024-\xff1-01", `expected month digits, found byte 0xff at offset 5`},
		{"HH:mm", "24:00", "hour 24 out of range at offset 0"},
		{"kk:mm", "00:00", "hour 0 out of range at offset 0"},
		{"hh:mm a", "00:00 AM", "hour 0 out of range at offset 0"},
		{"hh:mm a", "13:00 PM", "hour 13 out of range at offset 0"},
		{"KK:mm a", "12:00 PM", "hour 12 out of range at offset 0"},
		{"HH:mm", "12:60", "minute 60 out of range at offset 3"},
		{"HH:mm:ss", "12:00:60", "second 60 out of range at offset 6"},
		{"ss.SSSSSS", "00.123456", "millisecond 123456 out of range at offset 3"},
		{"D", "367", "day of year 367 out of range at offset 0"},
		{"yyyy D", "2023 366", "day of year 366 out of range for 2023 (365 days) at offset 5"},
		{"yyyy-MM-dd D", "2001-07-04 186", "day of year 186 does not match 2001-07-04 (day 185) at offset 11"},
		{"u", "8", "day of week 8 out of range at offset 0"},
		{"u", "0", "day of week 0 out of range at offset 0"},
		{"EEE, yyyy-MM-dd", "Mon, 2001-07-04", "day of week Monday does not match 2001-07-04 (Wednesday) at offset 0"},
		{"yyyy-MM-dd u", "2001-07-04 1", "day of week Monday does not match 2001-07-04 (Wednesday) at offset 11"},
		{"HH a", "13 AM", "AM does not match hour 13 at offset 3"},
		{"HH h", "13 2", "12-hour value 2 does not match hour 13 at offset 3"},
		{"MMM", "Foo", "expected month name, found 'F' at offset 0"},
		{"MM", "Jul", "expected month digits, found 'J' at offset 0"},
		{"EEE", "Xyz", "expected day-of-week name, found 'X' at offset 0"},
		{"a", "XM", "expected AM or PM, found 'X' at offset 0"},
		{"G", "CE", "expected era (AD or BC), found 'C' at offset 0"},
		{"z", "XYZ", "expected time zone (name, GMT±h:mm or ±hhmm), found 'X' at offset 0"},
		{"z", "GMT+5", "expected time zone"},
		{"z", "GMT+0530", "expected time zone"},
		{"Z", "+07", "expected time zone"},
		{"Z", "+07:00", "expected time zone"},
		{"Z", "+2400", "expected time zone"},
		{"Z", "+0760", "expected time zone"},
		{"X", "+7", "expected ISO 8601 zone (Z or ±hh), found '+' at offset 0"},
		{"X", "z", "expected ISO 8601 zone (Z or ±hh)"},
		{"X", "+0530", `unexpected trailing text "30" at offset 3`},
		{"XX", "-07:00", "expected ISO 8601 zone (Z or ±hhmm)"},
		{"XXX", "-0700", "expected ISO 8601 zone (Z or ±hh:mm)"},
		{"XXX", "", "expected ISO 8601 zone (Z or ±hh:mm), found end of text at offset 0"},
		{"z Z", "PDT -0800", `time zone "-0800" (-08:00) does not match the earlier zone (-07:00) at offset 4`},
		{"", "x", `unexpected trailing text "x" at offset 0`},
		{"'T'", "t", `expected "T", found 't' at offset 0`},
		{"milliseconds", "", "expected epoch milliseconds, found end of text at offset 0"},
		{"milliseconds", "-", "expected epoch milliseconds, found end of text at offset 1"},
		{"milliseconds", "12a", "expected epoch milliseconds digit, found 'a' at offset 2"},
		{"milliseconds", "+12", "expected epoch milliseconds digit, found '+' at offset 0"},
		{"milliseconds", "99999999999999999999", `epoch milliseconds "99999999999999999999" out of range at offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"|"+tt.text, func(t *testing.T) {
			t.Parallel()
			got, err := MustCompile(tt.pattern).Parse(tt.text, time.UTC)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.text, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.text, err, tt.want)
			}
		})
	}
}

func TestParseZoneWins(t *testing.T) {
	t.Parallel()
	denver := mustLoc(t, "America/Denver")
	p := MustCompile("yyyy-MM-dd HH:mm:ss Z")

	// The text's offset decides the instant, whatever loc says.
	got, err := p.Parse("2024-07-01 12:00:00 +0200", denver)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, off := got.Zone(); off != 2*3600 {
		t.Errorf("offset = %d, want +2h", off)
	}

	// When loc agrees with the text, the result is expressed in loc.
	got, err = p.Parse("2024-07-01 12:00:00 -0600", denver)
	if err != nil {
		t.Fatal(err)
	}
	if got.Location() != denver {
		t.Errorf("location = %v, want America/Denver", got.Location())
	}

	// Zero offsets come back as UTC.
	got, err = p.Parse("2024-07-01 12:00:00 +0000", denver)
	if err != nil {
		t.Fatal(err)
	}
	if got.Location() != time.UTC {
		t.Errorf("location = %v, want UTC", got.Location())
	}

	// A named zone keeps its name so z formats it back.
	z := MustCompile("yyyy-MM-dd HH:mm:ss z")
	got, err = z.Parse("2024-01-01 12:00:00 EDT", denver)
	if err != nil {
		t.Fatal(err)
	}
	if name, off := got.Zone(); name != "EDT" || off != -4*3600 {
		t.Errorf("zone = %s %d, want EDT -4h", name, off)
	}
	if s := z.Format(got); s != "2024-01-01 12:00:00 EDT" {
		t.Errorf("Format = %q", s)
	}
}

func TestParseNilLocationIsUTC(t *testing.T) {
	t.Parallel()
	got, err := MustCompile("yyyy-MM-dd HH:mm:ss").Parse("2024-07-01 12:00:00", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Location() != time.UTC || got.Hour() != 12 {
		t.Errorf("got %v, want 12:00 UTC", got)
	}
}

func TestParseTwoDigitYearUsesClock(t *testing.T) {
	t.Parallel()
	// Through the public API the window moves with time.Now; "01" is 2001
	// until 2081 and "99" is 1999 until 2079.
	p := MustCompile("yy")
	for text, want := range map[string]int{"01": 2001, "99": 1999} {
		got, err := p.Parse(text, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got.Year() != want {
			t.Errorf("Parse(%q).Year() = %d, want %d", text, got.Year(), want)
		}
	}
}

func TestBeforeChrist(t *testing.T) {
	t.Parallel()
	p := MustCompile("yyyy-MM-dd G")
	ides := time.Date(-43, time.March, 15, 0, 0, 0, 0, time.UTC) // 44 BC
	if got := p.Format(ides); got != "0044-03-15 BC" {
		t.Errorf("Format = %q, want 0044-03-15 BC", got)
	}
	got, err := p.Parse("0044-03-15 BC", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(ides) {
		t.Errorf("Parse = %v, want %v", got, ides)
	}
	if s := MustCompile("yy").Format(ides); s != "44" {
		t.Errorf("yy of 44 BC = %q", s)
	}
}

func TestFormatTruncatesToMilliseconds(t *testing.T) {
	t.Parallel()
	tm := time.Date(2024, 1, 2, 3, 4, 5, 999_999_999, time.UTC)
	if got := MustCompile("ss.SSS").Format(tm); got != "05.999" {
		t.Errorf("got %q, want 05.999", got)
	}
}

func TestFormatLargeYear(t *testing.T) {
	t.Parallel()
	tm := time.Date(12345, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := MustCompile("yyyy-MM-dd yy").Format(tm); got != "12345-01-02 45" {
		t.Errorf("got %q", got)
	}
}
