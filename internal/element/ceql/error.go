package ceql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a positioned syntax error returned by [Parse]. Use errors.As to
// recover it from the error value.
type Error struct {
	// Pos is the byte offset in Input the error refers to: the start of the
	// offending token, the opening quote of an unterminated string, or the
	// opening parenthesis of an unclosed group.
	Pos int
	// Msg describes the problem without position information.
	Msg string
	// Input is the expression that failed to parse.
	Input string
}

// Error returns a one-line message such as
// `ceql: at offset 4: expected AND or OR, found "b"`.
func (e *Error) Error() string {
	return fmt.Sprintf("ceql: at offset %d: %s", e.Pos, e.Msg)
}

// snippetWidth is how many bytes of input Snippet shows on each side of Pos.
const snippetWidth = 40

// Snippet returns two lines, the input (shortened around Pos when long, with
// control characters and invalid UTF-8 replaced so the columns line up) and
// a caret under the offending position:
//
//	a=1 b=2
//	    ^
func (e *Error) Snippet() string {
	pos := min(max(e.Pos, 0), len(e.Input))
	start, end := 0, len(e.Input)
	prefix, suffix := "", ""
	if pos-start > snippetWidth {
		start = pos - snippetWidth
		for start < pos && !utf8.RuneStart(e.Input[start]) {
			start++
		}
		prefix = "…"
	}
	if end-pos > snippetWidth {
		end = pos + snippetWidth
		for end > pos && end < len(e.Input) && !utf8.RuneStart(e.Input[end]) {
			end--
		}
		suffix = "…"
	}
	before := sanitize(e.Input[start:pos])
	after := sanitize(e.Input[pos:end])
	col := utf8.RuneCountInString(prefix) + utf8.RuneCountInString(before)
	return prefix + before + after + suffix + "\n" + strings.Repeat(" ", col) + "^"
}

// sanitize makes s printable on one line without changing its rune count
// per displayed position.
func sanitize(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteByte('?')
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}
