package pollurl

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestZoneAliasesResolve guards the alias table against typos and against
// tz database renames: every entry must load.
func TestZoneAliasesResolve(t *testing.T) {
	t.Parallel()
	for id := range zoneAliases {
		if _, ok := loadZone(id); !ok {
			t.Errorf("alias %q does not resolve", id)
		}
	}
}

func TestZoneOffsets(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		id     string
		offset int // seconds east of UTC on 2024-07-01
		name   string
	}{
		{"GMT", 0, "GMT"},
		{"UTC", 0, "UTC"},
		{"Z", 0, "UTC"},
		{"EST", -5 * hour, "EST"},
		{"MST", -7 * hour, "MST"},
		{"HST", -10 * hour, "HST"},
		{"EDT", -4 * hour, "EDT"},
		{"CDT", -5 * hour, "CDT"},
		{"MDT", -6 * hour, "MDT"},
		{"PDT", -7 * hour, "PDT"},
		{"AKST", -9 * hour, "AKST"},
		{"AKDT", -8 * hour, "AKDT"},
		{"CEST", 2 * hour, "CEST"},
		{"PST", -7 * hour, "PDT"}, // America/Los_Angeles, in summer
		{"CST", -5 * hour, "CDT"}, // America/Chicago, in summer
		{"BST", 6 * hour, "+06"},  // Asia/Dhaka, as in Java
		{"IST", 5*hour + 1800, "IST"},
		{"NST", 12 * hour, "NZST"}, // Pacific/Auckland, as in Java
		{"AST", -8 * hour, "AKDT"}, // America/Anchorage, as in Java
		{"CET", 2 * hour, "CEST"},
		{"EST5EDT", -4 * hour, "EDT"},
		{"America/Denver", -6 * hour, "MDT"},
		{"Europe/Paris", 2 * hour, "CEST"},
		{"-8:00", -8 * hour, "GMT-08:00"},
		{"+6:00", 6 * hour, "GMT+06:00"},
		{"-08:00", -8 * hour, "GMT-08:00"},
		{"+0530", 5*hour + 1800, "GMT+05:30"},
		{"+530", 5*hour + 1800, "GMT+05:30"},
		{"+5", 5 * hour, "GMT+05:00"},
		{"GMT+5", 5 * hour, "GMT+05:00"},
		{"GMT-08:00", -8 * hour, "GMT-08:00"},
		{"GMT-0800", -8 * hour, "GMT-08:00"},
		{"UTC+1", 1 * hour, "GMT+01:00"},
		{"UTC-23:59", -(23*hour + 59*60), "GMT-23:59"},
		{"+0", 0, "GMT+00:00"},
	}
	for _, tt := range tests {
		loc, ok := loadZone(tt.id)
		if !ok {
			t.Errorf("loadZone(%q) failed", tt.id)
			continue
		}
		name, off := when.In(loc).Zone()
		if off != tt.offset || name != tt.name {
			t.Errorf("loadZone(%q) on %v = %s %d, want %s %d", tt.id, when.Format(time.DateOnly), name, off, tt.name, tt.offset)
		}
	}
}

func TestZoneRejects(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"", "Local", "pst", "EDT4", "Mars/Olympus", "+", "-", "GMT+", "GMT+24",
		"+24:00", "+5:60", "+5:0", "+5:000", "+123:00", "+12345", "GMT+5:3", "GMT 5", "+5 ", "UTC+-1",
		"../zoneinfo/UTC", "/usr/share/zoneinfo/UTC", "America/Denver\x00", "zone1970.tab"} {
		if loc, ok := loadZone(id); ok {
			t.Errorf("loadZone(%q) = %v, want failure", id, loc)
		}
	}
}

// TestLoadZone checks the exported resolver against the template one, so the
// two cannot drift apart, and its empty-name and error cases.
func TestLoadZone(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"GMT", "UTC", "MST", "PST", "EDT", "-8:00", "GMT+05:30", "America/Denver"} {
		got, err := LoadZone(id)
		if err != nil {
			t.Errorf("LoadZone(%q): %v", id, err)
			continue
		}
		want, _ := loadZone(id)
		gotName, gotOff := when.In(got).Zone()
		wantName, wantOff := when.In(want).Zone()
		if gotName != wantName || gotOff != wantOff {
			t.Errorf("LoadZone(%q) = %s %d, want %s %d", id, gotName, gotOff, wantName, wantOff)
		}
	}
	if loc, err := LoadZone(""); err != nil || loc != time.UTC {
		t.Errorf("LoadZone(\"\") = %v, %v; want UTC", loc, err)
	}
	for _, id := range []string{"Local", "pst", "Mars/Olympus", "../zoneinfo/UTC", "{TimeZone}"} {
		if loc, err := LoadZone(id); err == nil {
			t.Errorf("LoadZone(%q) = %v, want an error", id, loc)
		} else if !strings.Contains(err.Error(), strconv.Quote(id)) {
			t.Errorf("LoadZone(%q) error %q does not name the zone", id, err)
		}
	}
}
