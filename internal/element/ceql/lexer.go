package ceql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tokEOF    tokKind = iota
	tokWord           // bareword: a field name or a keyword
	tokField          // `backticked` field name
	tokString         // 'single' or "double" quoted string
	tokNumber         // -12, 3.5, 1e3
	tokDate           // unquoted 2015-01-06 or 2015-01-06T09:31:38-07:00
	tokOp             // = != <> < > <= >=
	tokLParen
	tokRParen
	tokComma
)

// token is one lexeme; src[pos:end] is its text as written.
type token struct {
	kind     tokKind
	pos, end int
	str      string // word text, decoded string, field name or date text
	num      float64
	op       Op
}

// lexer produces tokens on demand so that the parser reports the first
// error in input order, whether lexical or syntactic.
type lexer struct {
	src string
	pos int
}

func (l *lexer) errAt(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Input: l.src}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

func isIdentPart(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r) || r == '.' || r == '-'
}

// isBareword reports whether s lexes as a single bareword.
func isBareword(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError || !isIdentPart(r) || (i == 0 && !isIdentStart(r)) {
			return false
		}
	}
	return s != ""
}

var keywords = []string{"AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL", "TRUE", "FALSE"}

// isKeyword reports whether s is a reserved word (ASCII case-insensitive).
func isKeyword(s string) bool {
	for _, k := range keywords {
		if isWord(s, k) {
			return true
		}
	}
	return false
}

// isWord reports whether s equals the upper-case ASCII keyword kw, ignoring
// ASCII case only (so the Kelvin sign is not a K).
func isWord(s, kw string) bool {
	if len(s) != len(kw) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}

func (l *lexer) next() (token, error) {
	s := l.src
	for l.pos < len(s) && isSpace(s[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start >= len(s) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	tok := func(k tokKind, n int) (token, error) {
		l.pos = start + n
		return token{kind: k, pos: start, end: l.pos}, nil
	}
	op := func(o Op, n int) (token, error) {
		l.pos = start + n
		return token{kind: tokOp, pos: start, end: l.pos, op: o}, nil
	}
	peek := byte(0)
	if start+1 < len(s) {
		peek = s[start+1]
	}
	switch c := s[start]; {
	case c == '(':
		return tok(tokLParen, 1)
	case c == ')':
		return tok(tokRParen, 1)
	case c == ',':
		return tok(tokComma, 1)
	case c == '=':
		switch peek {
		case '=':
			return token{}, l.errAt(start, `unknown operator "==" (use "=")`)
		case '<':
			return token{}, l.errAt(start, `unknown operator "=<" (use "<=")`)
		case '>':
			return token{}, l.errAt(start, `unknown operator "=>" (use ">=")`)
		}
		return op(Eq, 1)
	case c == '!':
		if peek == '=' {
			return op(Ne, 2)
		}
		return token{}, l.errAt(start, `unexpected "!" (use "!=" or NOT)`)
	case c == '<':
		switch peek {
		case '=':
			return op(Le, 2)
		case '>':
			return op(Ne, 2)
		}
		return op(Lt, 1)
	case c == '>':
		if peek == '=' {
			return op(Ge, 2)
		}
		return op(Gt, 1)
	case c == '\'' || c == '"':
		return l.lexString(c)
	case c == '`':
		return l.lexField()
	case isDigit(c) || (c == '-' && isDigit(peek)):
		return l.lexNumberOrDate()
	case c == '&':
		return token{}, l.errAt(start, `unexpected "&" (use AND; if this came from a URL, the where parameter needs URL-encoding)`)
	case c == '|':
		return token{}, l.errAt(start, `unexpected "|" (use OR)`)
	}
	r, n := utf8.DecodeRuneInString(s[start:])
	if !isIdentStart(r) {
		return token{}, l.errAt(start, "unexpected character %q", r)
	}
	end := start + n
	for end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if !isIdentPart(r) {
			break
		}
		end += n
	}
	l.pos = end
	return token{kind: tokWord, pos: start, end: end, str: s[start:end]}, nil
}

// lexString reads a string quoted with q, where a doubled q stands for one.
func (l *lexer) lexString(q byte) (token, error) {
	s, start := l.src, l.pos
	var b strings.Builder
	i := start + 1
	for {
		j := strings.IndexByte(s[i:], q)
		if j < 0 {
			return token{}, l.errAt(start, "unterminated string: no closing %c", q)
		}
		b.WriteString(s[i : i+j])
		i += j + 1
		if i < len(s) && s[i] == q {
			b.WriteByte(q)
			i++
			continue
		}
		break
	}
	l.pos = i
	return token{kind: tokString, pos: start, end: i, str: b.String()}, nil
}

// lexField reads a `backticked` field name, which cannot contain a backtick.
func (l *lexer) lexField() (token, error) {
	s, start := l.src, l.pos
	j := strings.IndexByte(s[start+1:], '`')
	if j < 0 {
		return token{}, l.errAt(start, "unterminated `field name`: no closing `")
	}
	if j == 0 {
		return token{}, l.errAt(start, "empty field name ``")
	}
	l.pos = start + 1 + j + 1
	return token{kind: tokField, pos: start, end: l.pos, str: s[start+1 : start+1+j]}, nil
}

// digitsAt reports whether s[i:i+n] exists and is all ASCII digits.
func digitsAt(s string, i, n int) bool {
	if i < 0 || i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

func atoi2(s string, i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }

// scanDate matches an ISO date at s[i:] — yyyy-MM-dd, optionally followed
// by Thh:mm[:ss[.fff]] and a zone Z, ±hh or ±hh[:]mm — and returns its end
// and whether the fields are in range. It returns end == i if s[i:] does
// not start like a date.
func scanDate(s string, i int) (end int, valid bool) {
	if !digitsAt(s, i, 4) || !(i+4 < len(s) && s[i+4] == '-') || !digitsAt(s, i+5, 2) ||
		!(i+7 < len(s) && s[i+7] == '-') || !digitsAt(s, i+8, 2) {
		return i, false
	}
	mon, day := atoi2(s, i+5), atoi2(s, i+8)
	valid = 1 <= mon && mon <= 12 && 1 <= day && day <= 31
	j := i + 10
	if j < len(s) && (s[j] == 'T' || s[j] == 't') && digitsAt(s, j+1, 2) &&
		j+3 < len(s) && s[j+3] == ':' && digitsAt(s, j+4, 2) {
		valid = valid && atoi2(s, j+1) <= 23 && atoi2(s, j+4) <= 59
		j += 6
		if j < len(s) && s[j] == ':' && digitsAt(s, j+1, 2) {
			valid = valid && atoi2(s, j+1) <= 60
			j += 3
			if j < len(s) && s[j] == '.' && digitsAt(s, j+1, 1) {
				j++
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
		}
		switch {
		case j < len(s) && (s[j] == 'Z' || s[j] == 'z'):
			j++
		case j < len(s) && (s[j] == '+' || s[j] == '-') && digitsAt(s, j+1, 2):
			valid = valid && atoi2(s, j+1) <= 23
			j += 3
			if j < len(s) && s[j] == ':' && digitsAt(s, j+1, 2) {
				valid = valid && atoi2(s, j+1) <= 59
				j += 3
			} else if digitsAt(s, j, 2) {
				valid = valid && atoi2(s, j) <= 59
				j += 2
			}
		}
	}
	return j, valid
}

// scanNumber matches -?digits[.digits][(e|E)[+-]digits] at s[i:] and
// returns its end (i if there is no number).
func scanNumber(s string, i int) int {
	j := i
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	if !digitsAt(s, j, 1) {
		return i
	}
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j < len(s) && s[j] == '.' && digitsAt(s, j+1, 1) {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if digitsAt(s, k, 1) {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			j = k
		}
	}
	return j
}

// continues reports whether s[i:] starts with a character that would glue
// onto a preceding number or date, making it malformed (e.g. 12abc, 1.,
// 2015-01-06x, 1AND).
func continues(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if s[i] == ':' || s[i] == '+' {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isIdentPart(r)
}

// runEnd extends a malformed literal to the end of its glued-on characters
// for the error message.
func runEnd(s string, i int) int {
	for continues(s, i) {
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return i
}

func (l *lexer) lexNumberOrDate() (token, error) {
	s, start := l.src, l.pos
	if end, valid := scanDate(s, start); end > start {
		text := s[start:end]
		if continues(s, end) {
			return token{}, l.errAt(start, "malformed date-time %q", s[start:runEnd(s, end)])
		}
		if !valid {
			return token{}, l.errAt(start, "invalid date-time %q (month, day, hour, minute or second out of range)", text)
		}
		if end == start+10 {
			// 2018-02-21 07:31:45 unquoted: the time would be garbage.
			k := end
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			if k > end && digitsAt(s, k, 2) && k+2 < len(s) && s[k+2] == ':' {
				t := k
				for t < len(s) && (isDigit(s[t]) || s[t] == ':' || s[t] == '.') {
					t++
				}
				return token{}, l.errAt(start, "a date-time containing a space must be quoted: %s", QuoteString(text+" "+s[k:t]))
			}
		}
		l.pos = end
		return token{kind: tokDate, pos: start, end: end, str: text}, nil
	}
	end := scanNumber(s, start)
	if continues(s, end) {
		return token{}, l.errAt(start, "malformed number %q", s[start:runEnd(s, end)])
	}
	f, err := strconv.ParseFloat(s[start:end], 64)
	if err != nil {
		if math.IsInf(f, 0) {
			return token{}, l.errAt(start, "number %s is out of range", s[start:end])
		}
		return token{}, l.errAt(start, "invalid number %q", s[start:end])
	}
	l.pos = end
	return token{kind: tokNumber, pos: start, end: end, num: f}, nil
}
