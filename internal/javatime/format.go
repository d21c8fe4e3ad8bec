package javatime

import (
	"strconv"
	"time"
)

// Format renders t in t's own location, the way SimpleDateFormat renders a
// Date with its TimeZone set to that location; convert with t.In first to
// render elsewhere.
func (p *Pattern) Format(t time.Time) string {
	var buf [64]byte
	return string(p.appendFormat(buf[:0], t))
}

func (p *Pattern) appendFormat(b []byte, t time.Time) []byte {
	if p.epochMillis {
		return strconv.AppendInt(b, t.UnixMilli(), 10)
	}
	var (
		year, day, hour, min, sec, yday, off int
		month                                time.Month
		zone                                 string
	)
	if p.needDate {
		year, month, day = t.Date()
	}
	if p.needClock {
		hour, min, sec = t.Clock()
	}
	if p.needYearDay {
		yday = t.YearDay()
	}
	if p.needZone {
		zone, off = t.Zone()
	}
	for _, it := range p.items {
		switch it.letter {
		case 0:
			b = append(b, it.lit...)
		case 'G':
			b = append(b, eras[eraIndex(year)]...)
		case 'y':
			y := javaYear(year)
			if it.count == 2 {
				b = appendInt(b, y%100, 2)
			} else {
				b = appendInt(b, y, it.count)
			}
		case 'M', 'L':
			switch {
			case it.count >= 4:
				b = append(b, monthNames[month-1]...)
			case it.count == 3:
				b = append(b, monthShort[month-1]...)
			default:
				b = appendInt(b, int(month), it.count)
			}
		case 'd':
			b = appendInt(b, day, it.count)
		case 'D':
			b = appendInt(b, yday, it.count)
		case 'E':
			if it.count >= 4 {
				b = append(b, dayNames[t.Weekday()]...)
			} else {
				b = append(b, dayShort[t.Weekday()]...)
			}
		case 'u':
			b = appendInt(b, isoWeekday(t.Weekday()), it.count)
		case 'a':
			b = append(b, ampm[hour/12]...)
		case 'H':
			b = appendInt(b, hour, it.count)
		case 'k':
			h := hour
			if h == 0 {
				h = 24
			}
			b = appendInt(b, h, it.count)
		case 'K':
			b = appendInt(b, hour%12, it.count)
		case 'h':
			h := hour % 12
			if h == 0 {
				h = 12
			}
			b = appendInt(b, h, it.count)
		case 'm':
			b = appendInt(b, min, it.count)
		case 's':
			b = appendInt(b, sec, it.count)
		case 'S':
			b = appendInt(b, t.Nanosecond()/1e6, it.count)
		case 'z', 'Z', 'X':
			b = appendZone(b, it, zone, off)
		}
	}
	return b
}

// javaYear converts Go's astronomical year (0 = 1 BC) to Java's year of era,
// which is never zero or negative.
func javaYear(year int) int {
	if year <= 0 {
		return 1 - year
	}
	return year
}

func eraIndex(year int) int {
	if year <= 0 {
		return 0
	}
	return 1
}

// isoWeekday is Java's u: Monday = 1 … Sunday = 7.
func isoWeekday(d time.Weekday) int {
	if d == time.Sunday {
		return 7
	}
	return int(d)
}

// appendInt writes a non-negative v zero-padded to at least width digits,
// which is all SimpleDateFormat's number fields ever need.
func appendInt(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	tmp[i] = byte('0' + v)
	for n := len(tmp) - i; n < width; n++ {
		b = append(b, '0')
	}
	return append(b, tmp[i:]...)
}
