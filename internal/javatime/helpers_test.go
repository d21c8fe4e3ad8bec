package javatime

import (
	"strings"
	"time"
)

// textRoundTrips reports whether Format(t) is expected to parse back to text
// that formats identically. It is false exactly where Java's own parser
// cannot read its output back: a number wider than its letter count next to
// another number, a number followed by literal digits, a name followed by
// letters it could swallow, a general zone followed by a sign, or a weekday
// or day of year checked against a date the pattern does not fully give.
func textRoundTrips(p *Pattern, t time.Time) bool {
	if p.epochMillis {
		return true
	}
	has := map[byte]bool{}
	for _, it := range p.items {
		has[it.letter] = true
	}
	fullDate := has['y'] && (has['M'] || has['L']) && has['d']
	if (has['E'] || has['u']) && !fullDate && !(has['y'] && has['D']) {
		return false
	}
	if has['D'] && (!has['y'] || (has['M'] || has['L'] || has['d']) && !fullDate) {
		return false
	}
	for i, it := range p.items {
		if it.letter == 0 {
			continue
		}
		var next item
		if i+1 < len(p.items) {
			next = p.items[i+1]
		}
		switch {
		case it.letter == 'y' && it.count <= 2:
			// Two-digit years only survive inside the test clock's window.
			if start := fixedNow.AddDate(-80, 0, 0); t.Before(start) || !t.Before(start.AddDate(100, 0, 0)) {
				return false
			}
			fallthrough
		case it.num:
			if it.obey && len(MustCompile(string(it.letter)).Format(t)) > it.count {
				return false
			}
			if next.letter == 0 && next.lit != "" && isDigit(next.lit[0]) {
				return false
			}
		default:
			if next.letter == 0 && next.lit != "" && isASCIILetter(next.lit[0]) {
				return false
			}
			if it.letter == 'z' || it.letter == 'Z' {
				if next.letter == 'Z' || next.letter == 'X' || next.letter == 0 && next.lit != "" && strings.ContainsRune("+-", rune(next.lit[0])) {
					return false
				}
			}
		}
	}
	return true
}
