package ceql

import "unicode"

// likePattern is a compiled LIKE pattern: runes lower-cased for
// case-insensitive matching, with wildcards marked.
type likePattern []likeElem

type likeElem struct {
	r    rune
	kind int8 // likeLit, likeOne or likeAny
}

const (
	likeLit int8 = iota
	likeOne      // _
	likeAny      // %
)

// compileLike reads a LIKE pattern: % is any run, _ one character, and a
// backslash makes the next character literal (a trailing backslash is a
// literal backslash).
func compileLike(p string) likePattern {
	var out likePattern
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\' && i+1 < len(rs):
			i++
			out = append(out, likeElem{r: unicode.ToLower(rs[i])})
		case r == '%':
			if len(out) == 0 || out[len(out)-1].kind != likeAny {
				out = append(out, likeElem{kind: likeAny})
			}
		case r == '_':
			out = append(out, likeElem{kind: likeOne})
		default:
			out = append(out, likeElem{r: unicode.ToLower(r)})
		}
	}
	return out
}

// match reports whether the whole of s matches, in O(len(p)·len(s)) worst
// case (greedy with backtracking to the last %).
func (p likePattern) match(s string) bool {
	rs := []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(rs) {
		if pi < len(p) {
			switch e := p[pi]; e.kind {
			case likeAny:
				star, mark = pi, si
				pi++
				continue
			case likeOne:
				pi++
				si++
				continue
			default:
				if e.r == unicode.ToLower(rs[si]) {
					pi++
					si++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		mark++
		si = mark
	}
	for pi < len(p) && p[pi].kind == likeAny {
		pi++
	}
	return pi == len(p)
}
