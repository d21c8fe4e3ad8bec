package javatime

// English display names, as the JDK's root/English locale data prints them.
// Java picks the full form for four or more letters and the short form
// otherwise; when parsing it accepts either, whatever the count.
var (
	monthNames = [12]string{"January", "February", "March", "April", "May", "June",
		"July", "August", "September", "October", "November", "December"}
	monthShort = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	// Indexed by time.Weekday (Sunday = 0).
	dayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	dayShort = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	ampm     = [2]string{"AM", "PM"}
	// Java prints the short era for every count of G (DateFormatSymbols.getEras).
	eras = [2]string{"BC", "AD"}
)

// matchName finds the longest name that prefixes s[pos:], ignoring ASCII
// case as Java's matchString does. It returns the index into names, or -1.
func matchName(s string, pos int, names []string) (index, end int) {
	index, best := -1, 0
	for i, n := range names {
		if len(n) > best && hasPrefixFold(s[pos:], n) {
			index, best = i, len(n)
		}
	}
	return index, pos + best
}

// matchLongShort tries the full names before the short ones, the order Java
// uses, so "June" is read whole rather than as "Jun" plus a stray "e".
func matchLongShort(s string, pos int, long, short []string) (index, end int) {
	if i, e := matchName(s, pos, long); i >= 0 {
		return i, e
	}
	return matchName(s, pos, short)
}

// hasPrefixFold is strings.HasPrefix with ASCII case folding; names are
// ASCII, so byte-wise folding is exact and allocation free.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(s[i]) != lower(prefix[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
