package pollurl

import (
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/javatime"
)

// Template is a compiled poller URL template. It is immutable and safe for
// concurrent use, so one can be compiled per instance and rendered on every
// poll.
type Template struct {
	src  string
	segs []segment
}

// segment is literal text or one variable.
type segment struct {
	kind    kind
	lit     string            // kind == literal
	pattern *javatime.Pattern // kind == fromDate, nowDate
	loc     *time.Location    // kind == fromDate, nowDate
}

type kind uint8

const (
	literal kind = iota
	fromDate
	nowDate
	fromMillis
	fromSeconds
	fromMicros
)

// Parse compiles a template once so that configuration errors surface when
// an instance is created rather than at the first poll; the error names the
// unknown variable, zone or bad pattern and its byte offset in tmpl.
func Parse(tmpl string) (*Template, error) {
	t := &Template{src: tmpl}
	rest, off := tmpl, 0
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			t.addLiteral(rest)
			return t, nil
		}
		t.addLiteral(rest[:i])
		start := off + i
		end := closingBrace(rest[i+2:])
		if end < 0 {
			return nil, unterminatedError(tmpl, start)
		}
		seg, err := parseVariable(rest[i:i+2+end+1], start)
		if err != nil {
			return nil, err
		}
		t.segs = append(t.segs, seg)
		consumed := i + 2 + end + 1
		rest, off = rest[consumed:], off+consumed
	}
}

// Validate is Parse for callers that only need the verdict, such as the
// instance API checking a configuration before storing it.
func Validate(tmpl string) error {
	_, err := Parse(tmpl)
	return err
}

// closingBrace finds the '}' that ends a variable body. Braces nest, so an
// unsubstituted placeholder such as ${dateTimeZone:{TimeZone}:HH:mm} is
// reported as an unknown zone rather than a truncated variable.
func closingBrace(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

func (t *Template) addLiteral(s string) {
	if s != "" {
		t.segs = append(t.segs, segment{kind: literal, lit: s})
	}
}

// Render substitutes every variable: from is the poll window's start (last
// successful poll start minus pollDelay), now the current run's start.
//
// The result is not URL-encoded. Cloud Elements sends these templates with
// literal spaces and quotes inside where= clauses and the hub decodes them;
// encoding is left to whoever turns the string into a request.
func (t *Template) Render(from, now time.Time) string {
	var b strings.Builder
	b.Grow(len(t.src) + 16)
	for _, s := range t.segs {
		switch s.kind {
		case literal:
			b.WriteString(s.lit)
		case fromDate:
			b.WriteString(s.pattern.Format(from.In(s.loc)))
		case nowDate:
			b.WriteString(s.pattern.Format(now.In(s.loc)))
		case fromMillis:
			b.WriteString(strconv.FormatInt(from.UnixMilli(), 10))
		case fromSeconds:
			b.WriteString(strconv.FormatInt(from.Unix(), 10))
		case fromMicros:
			b.WriteString(strconv.FormatInt(from.UnixMicro(), 10))
		}
	}
	return b.String()
}

// String returns the template as written, for logs and for storing the
// configuration back unchanged.
func (t *Template) String() string { return t.src }
