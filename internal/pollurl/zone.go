package pollurl

import (
	"fmt"
	"strings"
	"time"

	// Zones must resolve identically on minimal hosts without a system
	// tz database, or the same template would render differently.
	_ "time/tzdata"
)

// gmt is GMT as Java names it, so a "z" in a gmtDate format prints "GMT".
var gmt = time.FixedZone("GMT", 0)

// zoneAlias is what a short zone ID stands for: an IANA zone, or a fixed
// offset named after the ID so that "z" prints it back.
type zoneAlias struct {
	iana   string
	offset int // seconds east of UTC, when iana is ""
}

const hour = 3600

// zoneAliases resolves the short IDs poller configurations use. Java's
// TimeZone.getTimeZone is the reference (Cloud Elements runs on the JVM):
//
//   - GMT, UTC: UTC. Z: UTC (Java does not know "Z" and falls back to GMT,
//     which is the same offset).
//   - EST, MST, HST: FIXED -05:00, -07:00, -10:00 with no daylight saving,
//     as in Java since JDK 8 (not America/New_York or America/Denver).
//   - PST, CST and the other JDK "old mapping" IDs: the IANA zone Java maps
//     them to, WITH daylight saving (PST is America/Los_Angeles, so it
//     renders PDT in summer). Note BST is Asia/Dhaka (+06:00), not British
//     Summer Time, and IST is Asia/Kolkata, because that is what Java does;
//     NST is Pacific/Auckland, not Newfoundland, and AST is America/Anchorage.
//   - EDT, CDT, MDT, PDT, AKST, AKDT, CEST: FIXED at the offset the
//     abbreviation denotes (-04:00, -05:00, -06:00, -07:00, -09:00, -08:00,
//     +02:00). Java does not know these IDs and would silently use GMT; we
//     honour the evident intent, since Cloud Elements' own docs give EDT as
//     an example zone.
//   - CET, EET, WET, MET, EST5EDT, PST8PDT and other names that are IANA
//     zones resolve through the tz database like any IANA name.
var zoneAliases = map[string]zoneAlias{
	"GMT": {iana: "GMT"},
	"UTC": {iana: "UTC"},
	"Z":   {iana: "UTC"},

	"EST": {offset: -5 * hour},
	"MST": {offset: -7 * hour},
	"HST": {offset: -10 * hour},

	"EDT":  {offset: -4 * hour},
	"CDT":  {offset: -5 * hour},
	"MDT":  {offset: -6 * hour},
	"PDT":  {offset: -7 * hour},
	"AKST": {offset: -9 * hour},
	"AKDT": {offset: -8 * hour},
	"CEST": {offset: 2 * hour},

	// JDK ZoneInfoFile.oldMappings.
	"ACT": {iana: "Australia/Darwin"},
	"AET": {iana: "Australia/Sydney"},
	"AGT": {iana: "America/Argentina/Buenos_Aires"},
	"ART": {iana: "Africa/Cairo"},
	"AST": {iana: "America/Anchorage"},
	"BET": {iana: "America/Sao_Paulo"},
	"BST": {iana: "Asia/Dhaka"},
	"CAT": {iana: "Africa/Harare"},
	"CNT": {iana: "America/St_Johns"},
	"CST": {iana: "America/Chicago"},
	"CTT": {iana: "Asia/Shanghai"},
	"EAT": {iana: "Africa/Addis_Ababa"},
	"ECT": {iana: "Europe/Paris"},
	"IET": {iana: "America/Indiana/Indianapolis"},
	"IST": {iana: "Asia/Kolkata"},
	"JST": {iana: "Asia/Tokyo"},
	"MIT": {iana: "Pacific/Apia"},
	"NET": {iana: "Asia/Yerevan"},
	"NST": {iana: "Pacific/Auckland"},
	"PLT": {iana: "Asia/Karachi"},
	"PNT": {iana: "America/Phoenix"},
	"PRT": {iana: "America/Puerto_Rico"},
	"PST": {iana: "America/Los_Angeles"},
	"SST": {iana: "Pacific/Guadalcanal"},
	"VST": {iana: "Asia/Ho_Chi_Minh"},
}

// LoadZone resolves a zone name exactly as a template's ${dateTimeZone:...}
// zone is resolved, so that the time zones of a poller configuration's
// datesConfiguration and of its URL template cannot disagree: a short ID
// from the table above (GMT, EST, PST, ...), an offset ("-8:00", "+0530",
// "GMT+05:30", "UTC+1") or an IANA name ("America/Denver"). The empty name
// is UTC, Cloud Elements' default. Anything else is an error, where Java
// would silently have used GMT.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, ok := loadZone(name)
	if !ok {
		return nil, fmt.Errorf("unknown time zone %q; use an IANA name (America/Denver), an offset (-08:00) or GMT, UTC, EST, CST, MST, PST", name)
	}
	return loc, nil
}

// loadZone resolves a template's zone: a short ID from zoneAliases, an
// offset, or an IANA name. It reports false for anything else, where Java
// would silently have used GMT.
func loadZone(id string) (*time.Location, bool) {
	if a, ok := zoneAliases[id]; ok {
		if a.iana == "" {
			return time.FixedZone(id, a.offset), true
		}
		if a.iana == "GMT" {
			return gmt, true
		}
		loc, err := time.LoadLocation(a.iana)
		return loc, err == nil
	}
	if off, ok := parseOffset(id); ok {
		return time.FixedZone(offsetName(off), off), true
	}
	if !ianaName(id) {
		return nil, false
	}
	loc, err := time.LoadLocation(id)
	return loc, err == nil
}

// parseOffset reads Java's custom zone ID, [GMT|UTC]±h[h][[:]mm], accepting
// the bare and UTC-prefixed forms Cloud Elements documents ("-8:00",
// "+0530", "UTC+1") that Java itself would not.
func parseOffset(id string) (int, bool) {
	s := id
	if strings.HasPrefix(s, "GMT") || strings.HasPrefix(s, "UTC") {
		s = s[3:]
	}
	if len(s) < 2 || s[0] != '+' && s[0] != '-' {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	hh, mm, hasColon := strings.Cut(s[1:], ":")
	if !allDigits(hh) || hasColon && (len(hh) > 2 || len(mm) != 2 || !allDigits(mm)) || len(hh) > 4 {
		return 0, false
	}
	h, m := atoi(hh), 0
	switch {
	case hasColon:
		m = atoi(mm)
	case len(hh) > 2: // hhmm or hmm
		h, m = h/100, h%100
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return sign * (h*hour + m*60), true
}

// offsetName is Java's normalised custom ID, "GMT+05:30", which is also
// what Java prints for "z" in such a zone.
func offsetName(off int) string {
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	h, m := off/hour, off%hour/60
	return string([]byte{'G', 'M', 'T', sign, byte('0' + h/10), byte('0' + h%10), ':', byte('0' + m/10), byte('0' + m%10)})
}

// ianaName keeps zone IDs to the tz database alphabet so a template cannot
// make time.LoadLocation read arbitrary files, and rejects "Local", whose
// meaning would depend on the host.
func ianaName(id string) bool {
	if id == "" || id == "Local" || id[0] == '/' || strings.Contains(id, "..") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/_+-", c) >= 0) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
