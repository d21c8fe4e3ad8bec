package javatime

import "strings"

// javaLetters are all pattern letters SimpleDateFormat defines. Any other
// ASCII letter is an error, exactly as Java throws for it, so that patterns
// meant for other libraries (Go's "T", moment's "Do") fail loudly.
const javaLetters = "GyYMLwWDdFEuaHkKhmsSzZX"

// unsupported names the Java letters this package deliberately rejects; the
// week-based fields need locale week rules that no poller uses.
var unsupported = map[byte]string{
	'Y': "week year",
	'w': "week in year",
	'W': "week in month",
	'F': "day of week in month",
}

// tokenize splits a pattern into fields and literal runs with Java's quoting
// rules: two single quotes in a row are a literal quote anywhere, text
// between single quotes is literal, and non-letters are literal.
func tokenize(pattern string) ([]item, error) {
	var items []item
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			items = append(items, item{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			if i+1 < len(pattern) && pattern[i+1] == '\'' {
				lit.WriteByte('\'')
				i += 2
				continue
			}
			j := i + 1
			for {
				if j >= len(pattern) {
					return nil, compileError(pattern, i, "unterminated quote")
				}
				if pattern[j] == '\'' {
					if j+1 < len(pattern) && pattern[j+1] == '\'' {
						lit.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				lit.WriteByte(pattern[j])
				j++
			}
			i = j + 1
		case isASCIILetter(c):
			j := i
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			if err := checkLetter(pattern, i, c, j-i); err != nil {
				return nil, err
			}
			flush()
			items = append(items, item{letter: c, count: j - i})
			i = j
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return items, nil
}

func checkLetter(pattern string, offset int, c byte, count int) error {
	if strings.IndexByte(javaLetters, c) < 0 {
		return compileError(pattern, offset, "illegal pattern character '%c'", c)
	}
	if what, ok := unsupported[c]; ok {
		return compileError(pattern, offset, "unsupported pattern letter '%c' (%s)", c, what)
	}
	if c == 'X' && count > 3 {
		// Java: IllegalArgumentException("invalid ISO 8601 format: length=4").
		return compileError(pattern, offset, "invalid ISO 8601 format: length=%d", count)
	}
	return nil
}

func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
