package pollurl

import (
	"fmt"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/javatime"
)

const knownVariables = "gmtDate, date, dateTimeZone, nowTimeZone, epoch, milliseconds"

// parseVariable compiles one "${...}" occurrence; v includes the braces and
// offset is where it starts in the template.
func parseVariable(v string, offset int) (segment, error) {
	body := v[2 : len(v)-1]
	name, arg, hasArg := strings.Cut(body, ":")
	argOff := offset + 2 + len(name) + 1
	switch name {
	case "gmtDate", "date":
		if !hasArg {
			if name == "date" {
				return segment{kind: fromMillis}, nil
			}
			return segment{}, fmt.Errorf("template variable %q at offset %d needs a format: ${gmtDate:<format>}", v, offset)
		}
		loc := time.UTC
		if name == "gmtDate" {
			loc = gmt
		}
		p, err := compileFormat(v, arg, argOff)
		return segment{kind: fromDate, pattern: p, loc: loc}, err
	case "dateTimeZone", "nowTimeZone":
		zone, format, ok := splitZone(arg)
		if !hasArg || !ok {
			return segment{}, fmt.Errorf("template variable %q at offset %d needs a zone and a format: ${%s:<zone>:<format>}", v, offset, name)
		}
		if zone == "" {
			return segment{}, fmt.Errorf("empty time zone in %q at offset %d", v, argOff)
		}
		loc, ok := loadZone(zone)
		if !ok {
			hint := "use an IANA name (America/Denver), an offset (-08:00) or GMT, UTC, EST, CST, MST, PST"
			if strings.HasPrefix(zone, "{") {
				hint = "substitute instance configuration placeholders before parsing"
			}
			return segment{}, fmt.Errorf("unknown time zone %q in %q at offset %d; %s", zone, v, argOff, hint)
		}
		p, err := compileFormat(v, format, argOff+len(zone)+1)
		k := fromDate
		if name == "nowTimeZone" {
			k = nowDate
		}
		return segment{kind: k, pattern: p, loc: loc}, err
	case "epoch":
		if !hasArg {
			return segment{kind: fromMillis}, nil
		}
		switch arg {
		case "ms":
			return segment{kind: fromMillis}, nil
		case "s", "0":
			return segment{kind: fromSeconds}, nil
		case "us":
			return segment{kind: fromMicros}, nil
		}
		return segment{}, fmt.Errorf("unknown epoch unit %q in %q at offset %d; known: ms, s, us, 0", arg, v, argOff)
	case "milliseconds":
		if hasArg {
			return segment{}, fmt.Errorf("template variable %q at offset %d takes no argument", v, offset)
		}
		return segment{kind: fromMillis}, nil
	}
	return segment{}, fmt.Errorf("unknown template variable %q at offset %d; known: %s", name, offset, knownVariables)
}

func compileFormat(v, format string, offset int) (*javatime.Pattern, error) {
	if format == "" {
		return nil, fmt.Errorf("empty format in %q at offset %d", v, offset)
	}
	p, err := javatime.Compile(format)
	if err != nil {
		return nil, fmt.Errorf("bad date format in %q at offset %d: %w", v, offset, err)
	}
	return p, nil
}

// splitZone separates "<zone>:<format>". The first colon separates, except
// that an offset written with a colon ("-8:00", "GMT+05:30") keeps it.
func splitZone(arg string) (zone, format string, ok bool) {
	if n := colonOffsetLen(arg); n == len(arg) {
		return arg, "", false // "-8:00" alone: a zone with no format
	} else if n > 0 && arg[n] == ':' {
		return arg[:n], arg[n+1:], true
	}
	return strings.Cut(arg, ":")
}

// colonOffsetLen returns the length of a leading [GMT|UTC]±h[h]:mm, or 0.
func colonOffsetLen(s string) int {
	i := 0
	if strings.HasPrefix(s, "GMT") || strings.HasPrefix(s, "UTC") {
		i = 3
	}
	if i >= len(s) || s[i] != '+' && s[i] != '-' {
		return 0
	}
	i++
	digits := 0
	for i < len(s) && digits < 2 && isDigit(s[i]) {
		i++
		digits++
	}
	if digits == 0 || i+3 > len(s) || s[i] != ':' || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
		return 0
	}
	return i + 3
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func unterminatedError(tmpl string, offset int) error {
	return fmt.Errorf("unterminated template variable at offset %d: %q has no closing \"}\"", offset, tmpl[offset:min(len(tmpl), offset+40)])
}
