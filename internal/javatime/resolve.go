package javatime

import "time"

// resolve turns the fields into an instant, checking that redundant fields
// agree with each other the way a non-lenient Java Calendar does.
func (f *fields) resolve(loc *time.Location) (time.Time, *parseError) {
	year := 1970 // Java's Calendar.clear() default, like every other unset field
	if f.hasYear {
		year = f.year
		if f.era == 0 {
			year = 1 - year // Java's 1 BC is Go's year 0
		}
	}
	t, err := f.build(year, loc)
	if err == nil && f.ambiguous && t.Before(f.centuryStart) {
		t, err = f.build(year+100, loc)
	}
	return t, err
}

func (f *fields) build(year int, loc *time.Location) (time.Time, *parseError) {
	month, day, err := f.date(year)
	if err != nil {
		return time.Time{}, err
	}
	hour, err := f.hour()
	if err != nil {
		return time.Time{}, err
	}
	ns := f.ms * int(time.Millisecond)
	if !f.hasZone {
		return time.Date(year, time.Month(month), day, hour, f.min, f.sec, ns, loc), nil
	}
	off := f.zone.offset
	t := time.Date(year, time.Month(month), day, hour, f.min, f.sec, ns, time.UTC).
		Add(-time.Duration(off) * time.Second)
	// Prefer the caller's location when it says the same thing, so a
	// "-0600" read with loc America/Denver in summer stays in Denver.
	lt := t.In(loc)
	if name, o := lt.Zone(); o == off && (f.zone.name == "" || f.zone.name == name) {
		return lt, nil
	}
	if off == 0 && (f.zone.name == "" || f.zone.name == "UTC") {
		return t, nil
	}
	return t.In(time.FixedZone(f.zone.name, off)), nil
}

// date picks month and day from M/d, or from D when neither is present, and
// checks every redundant field (D, E, u) against the result.
func (f *fields) date(year int) (month, day int, err *parseError) {
	month, day = 1, 1
	if f.hasMonth {
		month = f.month
	}
	if f.hasDay {
		day = f.day
	}
	if f.hasMonth || f.hasDay || !f.hasYD {
		if n := daysIn(month, year); day > n {
			return 0, 0, fail(f.dayOff, "day %d out of range for %04d-%02d (%d days)", day, year, month, n)
		}
		if f.hasYD {
			if yd := yearDay(year, month, day); yd != f.yday {
				return 0, 0, fail(f.ydayOff, "day of year %d does not match %04d-%02d-%02d (day %d)", f.yday, year, month, day, yd)
			}
		}
	} else {
		if n := daysInYear(year); f.yday > n {
			return 0, 0, fail(f.ydayOff, "day of year %d out of range for %d (%d days)", f.yday, year, n)
		}
		t := time.Date(year, 1, f.yday, 0, 0, 0, 0, time.UTC)
		month, day = int(t.Month()), t.Day()
	}
	// A weekday alone (no d or D) cannot be checked against a defaulted
	// date; Java would resolve it through week fields we do not support, so
	// it is ignored.
	if f.wday >= 0 && (f.hasDay || f.hasYD) {
		wd := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Weekday()
		if int(wd) != f.wday {
			return 0, 0, fail(f.wdayOff, "day of week %s does not match %04d-%02d-%02d (%s)",
				dayNames[f.wday], year, month, day, dayNames[wd])
		}
	}
	return month, day, nil
}

// hour combines H/k, h/K and a. A 24-hour field wins but must agree with any
// 12-hour field and AM/PM marker; h/K without a marker mean AM, as in Java.
func (f *fields) hour() (int, *parseError) {
	switch {
	case f.hour24 >= 0:
		if f.hour12 >= 0 && f.hour12 != f.hour24%12 {
			return 0, fail(f.h12Off, "12-hour value %d does not match hour %d", f.hour12, f.hour24)
		}
		if f.ampm >= 0 && f.ampm != f.hour24/12 {
			return 0, fail(f.ampmOff, "%s does not match hour %d", ampm[f.ampm], f.hour24)
		}
		return f.hour24, nil
	case f.hour12 >= 0:
		return f.hour12 + 12*max(f.ampm, 0), nil
	case f.ampm == 1:
		return 12, nil
	}
	return 0, nil
}

var daysBefore = [13]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}

func isLeap(year int) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}

func daysIn(month, year int) int {
	if month == 2 && isLeap(year) {
		return 29
	}
	return daysBefore[month] - daysBefore[month-1]
}

func daysInYear(year int) int {
	if isLeap(year) {
		return 366
	}
	return 365
}

func yearDay(year, month, day int) int {
	d := daysBefore[month-1] + day
	if month > 2 && isLeap(year) {
		d++
	}
	return d
}
