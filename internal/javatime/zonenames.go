package javatime

// zoneName ties an abbreviation, as Go's tz database reports it, to the UTC
// offset it denotes and the long name Java prints for zzzz.
type zoneName struct {
	abbr   string
	offset int // seconds east of UTC
	long   string
}

const hour = 3600

// zoneNames serves two purposes:
//
//   - Format with zzzz looks up (abbreviation, offset) to find the long name;
//     the offset disambiguates abbreviations that tz uses for several zones
//     (CST is US Central and China, IST is India, Ireland and Israel).
//   - Parse with z or Z accepts any abbreviation or long name listed here,
//     case-insensitively, as the fixed offset it denotes. For an ambiguous
//     abbreviation the FIRST entry wins, and the order below follows Java's
//     own choice: CST = US Central, IST = India, PST = US Pacific.
var zoneNames = []zoneName{
	{"UTC", 0, "Coordinated Universal Time"},
	{"GMT", 0, "Greenwich Mean Time"},
	{"EST", -5 * hour, "Eastern Standard Time"},
	{"EDT", -4 * hour, "Eastern Daylight Time"},
	{"CST", -6 * hour, "Central Standard Time"},
	{"CDT", -5 * hour, "Central Daylight Time"},
	{"MST", -7 * hour, "Mountain Standard Time"},
	{"MDT", -6 * hour, "Mountain Daylight Time"},
	{"PST", -8 * hour, "Pacific Standard Time"},
	{"PDT", -7 * hour, "Pacific Daylight Time"},
	{"AKST", -9 * hour, "Alaska Standard Time"},
	{"AKDT", -8 * hour, "Alaska Daylight Time"},
	{"HST", -10 * hour, "Hawaii Standard Time"},
	{"HDT", -9 * hour, "Hawaii-Aleutian Daylight Time"},
	{"AST", -4 * hour, "Atlantic Standard Time"},
	{"ADT", -3 * hour, "Atlantic Daylight Time"},
	{"NST", -3*hour - 1800, "Newfoundland Standard Time"},
	{"NDT", -2*hour - 1800, "Newfoundland Daylight Time"},
	{"IST", 5*hour + 1800, "India Standard Time"},
	{"WET", 0, "Western European Time"},
	{"WEST", 1 * hour, "Western European Summer Time"},
	{"BST", 1 * hour, "British Summer Time"},
	{"IST", 1 * hour, "Irish Standard Time"},
	{"CET", 1 * hour, "Central European Time"},
	{"CEST", 2 * hour, "Central European Summer Time"},
	{"EET", 2 * hour, "Eastern European Time"},
	{"EEST", 3 * hour, "Eastern European Summer Time"},
	{"IST", 2 * hour, "Israel Standard Time"},
	{"IDT", 3 * hour, "Israel Daylight Time"},
	{"MSK", 3 * hour, "Moscow Standard Time"},
	{"WAT", 1 * hour, "West Africa Time"},
	{"CAT", 2 * hour, "Central Africa Time"},
	{"EAT", 3 * hour, "East Africa Time"},
	{"SAST", 2 * hour, "South Africa Standard Time"},
	{"PKT", 5 * hour, "Pakistan Standard Time"},
	{"WIB", 7 * hour, "Western Indonesia Time"},
	{"CST", 8 * hour, "China Standard Time"},
	{"HKT", 8 * hour, "Hong Kong Standard Time"},
	{"PST", 8 * hour, "Philippine Standard Time"},
	{"AWST", 8 * hour, "Australian Western Standard Time"},
	{"JST", 9 * hour, "Japan Standard Time"},
	{"KST", 9 * hour, "Korean Standard Time"},
	{"ACST", 9*hour + 1800, "Australian Central Standard Time"},
	{"ACDT", 10*hour + 1800, "Australian Central Daylight Time"},
	{"AEST", 10 * hour, "Australian Eastern Standard Time"},
	{"AEDT", 11 * hour, "Australian Eastern Daylight Time"},
	{"NZST", 12 * hour, "New Zealand Standard Time"},
	{"NZDT", 13 * hour, "New Zealand Daylight Time"},
	{"SST", -11 * hour, "Samoa Standard Time"},
}

// longZoneName returns Java's zzzz text for a zone abbreviation in effect
// at the given offset, or "" when the table does not know it.
func longZoneName(abbr string, offset int) string {
	for _, z := range zoneNames {
		if z.offset == offset && z.abbr == abbr {
			return z.long
		}
	}
	return ""
}

// matchZoneName finds the longest abbreviation or long name at s[pos:].
func matchZoneName(s string, pos int) (z zoneName, end int, ok bool) {
	best := 0
	for _, cand := range zoneNames {
		for _, n := range [2]string{cand.abbr, cand.long} {
			if len(n) > best && hasPrefixFold(s[pos:], n) {
				z, best, ok = cand, len(n), true
			}
		}
	}
	return z, pos + best, ok
}
