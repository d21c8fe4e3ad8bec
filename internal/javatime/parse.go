package javatime

import (
	"strconv"
	"strings"
	"time"
)

// Parse reads s strictly (see the package comment) and returns the instant
// it denotes. loc supplies the zone only when the text has none; nil means
// UTC. A zone in the text wins, and the result is expressed in loc when loc
// has the same offset at that instant, otherwise in a fixed zone.
//
// Two-digit years (y or yy matching exactly two digits) are placed, as Java
// does, in the century starting 80 years before the current time.
func (p *Pattern) Parse(s string, loc *time.Location) (time.Time, error) {
	return p.parse(s, loc, time.Now)
}

// parse takes the clock as a parameter so tests can pin the two-digit-year
// window without a package variable that parallel tests would race on.
func (p *Pattern) parse(s string, loc *time.Location, now func() time.Time) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	t, err := p.parseFields(s, loc, now)
	if err != nil {
		err.text, err.pattern = s, p.src
		return time.Time{}, err
	}
	return t, nil
}

func (p *Pattern) parseFields(s string, loc *time.Location, now func() time.Time) (time.Time, *parseError) {
	if p.epochMillis {
		return parseEpochMillis(s, loc)
	}
	f := newFields()
	pos := 0
	for i := range p.items {
		it := &p.items[i]
		var err *parseError
		if it.letter == 0 {
			if len(it.lit) == 1 && pos < len(s) && s[pos] == it.lit[0] {
				pos++ // the common single separator, without a string compare
				continue
			}
			if !strings.HasPrefix(s[pos:], it.lit) {
				return time.Time{}, fail(pos, "expected %q, found %s", it.lit, found(s, pos))
			}
			pos += len(it.lit)
			continue
		}
		if it.num {
			pos, err = f.number(it, s, pos, now)
		} else {
			pos, err = f.text(it, s, pos)
		}
		if err != nil {
			return time.Time{}, err
		}
	}
	if pos < len(s) {
		return time.Time{}, fail(pos, "unexpected trailing text %s", clip(s[pos:]))
	}
	return f.resolve(loc)
}

func parseEpochMillis(s string, loc *time.Location) (time.Time, *parseError) {
	digits := strings.TrimPrefix(s, "-")
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return time.Time{}, fail(len(s)-len(digits)+i, "expected epoch milliseconds digit, found %s", found(digits, i))
		}
	}
	if digits == "" {
		return time.Time{}, fail(len(s), "expected epoch milliseconds, found end of text")
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fail(0, "epoch milliseconds %s out of range", clip(s))
	}
	return time.UnixMilli(ms).In(loc), nil
}
