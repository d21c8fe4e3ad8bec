package javatime

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// parseError carries the byte offset into the text so that operators can see
// which part of a record's date was rejected; text and pattern are filled in
// by Parse so field parsers need not carry them around.
type parseError struct {
	text, pattern string
	msg           string
	offset        int
}

func (e *parseError) Error() string {
	return fmt.Sprintf("parse %s as %q: %s at offset %d", clip(e.text), e.pattern, e.msg, e.offset)
}

// clip quotes s for an error message, shortening it so that a garbage
// multi-kilobyte "date" from an API does not flood the logs.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + "..."
}

func fail(offset int, format string, args ...any) *parseError {
	return &parseError{msg: fmt.Sprintf(format, args...), offset: offset}
}

// found describes what the text holds at pos for "expected X, found Y".
func found(s string, pos int) string {
	if pos >= len(s) {
		return "end of text"
	}
	r, n := utf8.DecodeRuneInString(s[pos:])
	if r == utf8.RuneError && n <= 1 {
		return fmt.Sprintf("byte %#02x", s[pos])
	}
	return fmt.Sprintf("%q", r)
}
