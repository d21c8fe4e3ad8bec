package javatime

// Zone fields: z (general), Z (RFC 822) and X (ISO 8601). Offsets are
// printed in whole minutes truncated toward zero, as Java does, so the
// sub-minute offsets of pre-1900 local mean time do not round-trip.

// appendZone renders a zone field for a time whose zone abbreviation is name
// and whose offset is off seconds east of UTC.
func appendZone(b []byte, it item, name string, off int) []byte {
	switch it.letter {
	case 'Z':
		return appendOffset(b, off, true, false)
	case 'X':
		if off == 0 {
			return append(b, 'Z')
		}
		return appendOffset(b, off, it.count >= 2, it.count == 3)
	}
	if it.count >= 4 {
		if long := longZoneName(name, off); long != "" {
			return append(b, long...)
		}
		return appendGMT(b, off)
	}
	// tz uses numeric pseudo-abbreviations ("-03") for zones without a real
	// one; Java prints its custom-zone form for those.
	if name == "" || name[0] == '+' || name[0] == '-' {
		return appendGMT(b, off)
	}
	return append(b, name...)
}

// appendGMT writes Java's custom zone ID form, "GMT+05:30".
func appendGMT(b []byte, off int) []byte {
	b = append(b, "GMT"...)
	return appendOffset(b, off, true, true)
}

// appendOffset writes ±hh, ±hhmm or ±hh:mm.
func appendOffset(b []byte, off int, minutes, colon bool) []byte {
	m := off / 60
	if off < 0 {
		b = append(b, '-')
		m = -m
	} else {
		b = append(b, '+')
	}
	b = appendInt(b, m/60, 2)
	if minutes {
		if colon {
			b = append(b, ':')
		}
		b = appendInt(b, m%60, 2)
	}
	return b
}

// parsedZone is a zone read from text: name is "" for a purely numeric
// offset, otherwise the abbreviation to label the result with.
type parsedZone struct {
	offset int
	name   string
}

// parseGeneralZone reads z or Z text. Java treats both letters alike when
// parsing: "GMT", "GMT±h:mm", RFC 822 "±hhmm", or a zone name.
func parseGeneralZone(s string, pos int) (z parsedZone, end int, ok bool) {
	if pos >= len(s) {
		return z, pos, false
	}
	if c := s[pos]; c == '+' || c == '-' {
		m, end, ok := numericZone(s, pos+1, 0, false)
		return parsedZone{offset: sign(c) * m * 60}, end, ok
	}
	if hasPrefixFold(s[pos:], "GMT") {
		pos += 3
		if pos < len(s) && (s[pos] == '+' || s[pos] == '-') {
			m, end, ok := numericZone(s, pos+1, 0, true)
			return parsedZone{offset: sign(s[pos]) * m * 60}, end, ok
		}
		return parsedZone{name: "GMT"}, pos, true
	}
	n, end, ok := matchZoneName(s, pos)
	return parsedZone{offset: n.offset, name: n.abbr}, end, ok
}

// parseISOZone reads X text: "Z" or an offset whose shape the letter count
// fixes (X = ±hh, XX = ±hhmm, XXX = ±hh:mm).
func parseISOZone(s string, pos, count int) (z parsedZone, end int, ok bool) {
	if pos >= len(s) {
		return z, pos, false
	}
	switch c := s[pos]; c {
	case 'Z':
		return z, pos + 1, true
	case '+', '-':
		m, end, ok := numericZone(s, pos+1, count, count == 3)
		return parsedZone{offset: sign(c) * m * 60}, end, ok
	}
	return z, pos, false
}

// numericZone is Java's subParseNumericZone: hours (one digit allowed only
// in the GMT±h:mm form), then, unless count is 1, minutes with or without a
// colon. It returns the offset in minutes.
func numericZone(s string, pos, count int, colon bool) (minutes, end int, ok bool) {
	if pos >= len(s) || !isDigit(s[pos]) {
		return 0, pos, false
	}
	h := int(s[pos] - '0')
	pos++
	if pos >= len(s) {
		return 0, pos, false
	}
	if isDigit(s[pos]) {
		h = h*10 + int(s[pos]-'0')
		pos++
	} else if count > 0 || !colon {
		return 0, pos, false
	}
	if h > 23 {
		return 0, pos, false
	}
	m := 0
	if count != 1 {
		if colon {
			if pos >= len(s) || s[pos] != ':' {
				return 0, pos, false
			}
			pos++
		}
		if pos+1 >= len(s) || !isDigit(s[pos]) || !isDigit(s[pos+1]) {
			return 0, pos, false
		}
		m = int(s[pos]-'0')*10 + int(s[pos+1]-'0')
		pos += 2
		if m > 59 {
			return 0, pos, false
		}
	}
	return h*60 + m, pos, true
}

func sign(c byte) int {
	if c == '-' {
		return -1
	}
	return 1
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
