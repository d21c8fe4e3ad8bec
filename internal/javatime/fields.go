package javatime

import "time"

// fields accumulates what the text said, field by field, before resolve
// turns it into an instant; -1 marks "not in the text". Offsets are kept so
// consistency errors found later can still point at the culprit.
type fields struct {
	year, month, day, yday           int
	hasYear, hasMonth, hasDay, hasYD bool
	era                              int // 0 = BC, 1 = AD
	hour24, hour12, ampm, wday       int
	min, sec, ms                     int
	zone                             parsedZone
	hasZone                          bool

	// ambiguous is Java's ambiguousYear: a two-digit year equal to the
	// window's first year, resolved once the full date is known.
	ambiguous    bool
	centuryStart time.Time

	dayOff, ydayOff, wdayOff, h24Off, h12Off, ampmOff int
}

func newFields() fields {
	return fields{era: -1, hour24: -1, hour12: -1, ampm: -1, wday: -1}
}

// maxYear is Java's GregorianCalendar maximum; it also keeps epoch
// milliseconds of any parsed time inside int64.
const maxYear = 292278994

// numberLimit caps a number's value so nine digits can never overflow; any
// field reaching it is out of range anyway.
const numberLimit = 999_999_999

// number reads a numeric field. Like Java it first skips spaces and tabs,
// and when the next field is also numeric (obey) it reads no further than
// count characters from where the field began.
func (f *fields) number(it *item, s string, start int, now func() time.Time) (int, *parseError) {
	pos := start
	for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
		pos++
	}
	limit := len(s)
	if it.obey && start+it.count < limit {
		limit = start + it.count
	}
	end, v := pos, 0
	for end < limit && isDigit(s[end]) {
		if v <= numberLimit {
			v = v*10 + int(s[end]-'0')
		}
		end++
	}
	if end == pos {
		return pos, fail(pos, "expected %s digits, found %s", fieldName(it.letter), found(s, pos))
	}
	if v > numberLimit {
		return pos, fail(pos, "%s %s out of range", fieldName(it.letter), clip(s[pos:end]))
	}
	if it.letter == 'y' && it.count <= 2 && end-pos == 2 {
		// Checked before the range: "00" is a valid two-digit year.
		f.hasYear = true
		f.twoDigitYear(v, now())
		return end, nil
	}
	lo, hi := fieldRange(it.letter)
	if v < lo || v > hi {
		return pos, fail(pos, "%s %d out of range", fieldName(it.letter), v)
	}
	switch it.letter {
	case 'y':
		f.year, f.hasYear, f.ambiguous = v, true, false
	case 'M', 'L':
		f.month, f.hasMonth = v, true
	case 'd':
		f.day, f.hasDay, f.dayOff = v, true, pos
	case 'D':
		f.yday, f.hasYD, f.ydayOff = v, true, pos
	case 'u':
		f.wday, f.wdayOff = v%7, pos
	case 'H', 'k':
		f.hour24, f.h24Off = v%24, pos
	case 'K', 'h':
		f.hour12, f.h12Off = v%12, pos
	case 'm':
		f.min = v
	case 's':
		f.sec = v
	case 'S':
		f.ms = v
	}
	return end, nil
}

// twoDigitYear applies Java's rule: the year lands in the 100 years starting
// 80 years before now; the window's own first year stays ambiguous until
// resolve can compare the whole date with the window start.
func (f *fields) twoDigitYear(v int, now time.Time) {
	f.centuryStart = now.AddDate(-80, 0, 0)
	startYear := f.centuryStart.Year()
	pivot := startYear % 100
	f.ambiguous = v == pivot
	f.year = startYear/100*100 + v
	if v < pivot {
		f.year += 100
	}
}

// text reads a field whose value is a word or a zone.
func (f *fields) text(it *item, s string, pos int) (int, *parseError) {
	var (
		i, end = -1, pos
		ok     bool
	)
	switch it.letter {
	case 'G':
		i, end = matchName(s, pos, eras[:])
		f.era = i
	case 'M', 'L':
		i, end = matchLongShort(s, pos, monthNames[:], monthShort[:])
		f.month, f.hasMonth = i+1, true
	case 'E':
		i, end = matchLongShort(s, pos, dayNames[:], dayShort[:])
		f.wday, f.wdayOff = i, pos
	case 'a':
		i, end = matchName(s, pos, ampm[:])
		f.ampm, f.ampmOff = i, pos
	case 'z', 'Z', 'X':
		var z parsedZone
		if it.letter == 'X' {
			z, end, ok = parseISOZone(s, pos, it.count)
		} else {
			z, end, ok = parseGeneralZone(s, pos)
		}
		if ok {
			if err := f.setZone(z, s[pos:end], pos); err != nil {
				return pos, err
			}
		}
	}
	if i < 0 && !ok {
		return pos, fail(pos, "expected %s, found %s", textFieldName(it), found(s, pos))
	}
	return end, nil
}

// setZone records a zone field. A pattern may state the zone twice ("PDT
// -0700"); the statements must agree, and a name is kept over a bare offset
// so that z formats the result the way it was written.
func (f *fields) setZone(z parsedZone, text string, pos int) *parseError {
	if f.hasZone {
		if z.offset != f.zone.offset {
			return fail(pos, "time zone %q (%s) does not match the earlier zone (%s)",
				text, appendOffset(nil, z.offset, true, true), appendOffset(nil, f.zone.offset, true, true))
		}
		if z.name == "" {
			return nil
		}
	}
	f.zone, f.hasZone = z, true
	return nil
}

func fieldName(letter byte) string {
	switch letter {
	case 'y':
		return "year"
	case 'M', 'L':
		return "month"
	case 'd':
		return "day"
	case 'D':
		return "day of year"
	case 'u':
		return "day of week"
	case 'H', 'k', 'K', 'h':
		return "hour"
	case 'm':
		return "minute"
	case 's':
		return "second"
	case 'S':
		return "millisecond"
	}
	return string(letter)
}

// fieldRange is the strict (non-lenient) range of each numeric letter.
func fieldRange(letter byte) (lo, hi int) {
	switch letter {
	case 'y':
		return 1, maxYear
	case 'M', 'L':
		return 1, 12
	case 'd':
		return 1, 31
	case 'D':
		return 1, 366
	case 'u':
		return 1, 7
	case 'H':
		return 0, 23
	case 'k':
		return 1, 24
	case 'K':
		return 0, 11
	case 'h':
		return 1, 12
	case 'm', 's':
		return 0, 59
	case 'S':
		return 0, 999
	}
	return 0, numberLimit
}

func textFieldName(it *item) string {
	switch it.letter {
	case 'G':
		return "era (AD or BC)"
	case 'M', 'L':
		return "month name"
	case 'E':
		return "day-of-week name"
	case 'a':
		return "AM or PM"
	case 'X':
		switch it.count {
		case 1:
			return "ISO 8601 zone (Z or ±hh)"
		case 2:
			return "ISO 8601 zone (Z or ±hhmm)"
		}
		return "ISO 8601 zone (Z or ±hh:mm)"
	}
	return "time zone (name, GMT±h:mm or ±hhmm)"
}
