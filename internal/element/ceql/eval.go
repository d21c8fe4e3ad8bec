package ceql

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrType is wrapped by the errors [Eval] returns when a predicate is
// meaningless for the types involved, such as `ACTIVE < 3` on a boolean.
var ErrType = errors.New("ceql: type mismatch")

// Conjuncts flattens the top-level AND chain of e, including explicitly
// nested ANDs, into its terms, for pushing predicates down to a provider: a
// record matches e exactly when it matches every conjunct. Any other node
// (an OR, a NOT, a single predicate) is one conjunct, so an OR anywhere
// leaves an *Or conjunct that push-down callers evaluate locally with
// [Eval]. Conjuncts(nil) is nil.
func Conjuncts(e Expr) []Expr {
	if e == nil {
		return nil
	}
	a, ok := e.(*And)
	if !ok {
		return []Expr{e}
	}
	var out []Expr
	for _, t := range a.Terms {
		out = append(out, Conjuncts(t)...)
	}
	return out
}

// Eval reports whether the record behind get satisfies e. A nil e matches
// every record. get returns the value of a field as named in the
// expression (dot paths such as `config.url` are the getter's business) and
// false when the record has no such field.
//
// Values are what encoding/json produces: string, float64, json.Number,
// bool, nil, []any and map[string]any; other Go integer and float types
// and []string are accepted too. The rules:
//
//   - A missing field and JSON null are NULL. IS NULL is true for them and
//     every other predicate is unknown, as in SQL: `=`, `!=`, `<`, LIKE,
//     NOT LIKE, IN and NOT IN are all false. Logic is three-valued, so
//     NOT (x = 1) is also false when x is NULL; unknown counts as false
//     only at the top. An empty string is not NULL.
//   - Strings compare case-insensitively, for consistency with Insightly's
//     server-side field search (SQL Server, case-insensitive collation);
//     ordering folds case the same way. When both sides look like ISO dates
//     or date-times (yyyy-MM-dd, yyyy-MM-dd HH:mm:ss, RFC 3339, …) they
//     compare as instants, so Insightly's `2018-02-21 07:31:45` compares
//     correctly with `2018-02-21T07:31:45Z`; a date-time without a zone is
//     UTC and a bare date is midnight UTC. Other strings compare
//     lexicographically by case-folded code point.
//   - A number field compared with a string literal that looks like a
//     decimal number compares numerically, and so does a string field
//     holding a decimal number compared with a number literal. Otherwise
//     number and string compare as text (the number's shortest decimal
//     form). Numbers are float64: integers beyond 2^53 lose precision.
//   - Booleans equal true/false literals and the strings 'true'/'false'
//     (any case); a boolean field equals no other string, and a string field
//     equals a boolean literal only if it reads 'true'/'false'. Ordering
//     (< > <= >=) with a boolean on either side, and any comparison
//     between a boolean and a number, fails with [ErrType].
//   - LIKE matches case-insensitively over the whole value: % matches any
//     run of characters, _ exactly one, and a backslash makes the next
//     character literal (\%, \_, \\). Number and boolean fields are
//     matched in their text form.
//   - x IN (a, b) is true when x equals any of the values by the rules of
//     `=`; NOT IN is its negation for non-NULL x.
//   - A list field ([]any, []string) is never NULL; a predicate holds if it
//     holds for any non-null element, and the negated forms (`!=`, NOT LIKE,
//     NOT IN) hold if the positive form holds for no element.
//   - An object field (map[string]any) or a value of another type is not
//     NULL, but comparing it fails with [ErrType].
//
// AND and OR evaluate left to right and stop as soon as the result is
// known, so a type error in a term that is not reached is not reported.
// Errors are only ever type errors; the boolean is false when err != nil.
func Eval(e Expr, get func(field string) (any, bool)) (bool, error) {
	if e == nil {
		return true, nil
	}
	r, err := eval(e, get)
	if err != nil {
		return false, err
	}
	return r == yes, nil
}

// tri is a three-valued truth value.
type tri int8

const (
	no tri = iota
	yes
	unknown
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

func eval(e Expr, get func(string) (any, bool)) (tri, error) {
	switch e := e.(type) {
	case *And:
		res := yes
		for _, t := range e.Terms {
			r, err := eval(t, get)
			if err != nil || r == no {
				return no, err
			}
			if r == unknown {
				res = unknown
			}
		}
		return res, nil
	case *Or:
		res := no
		for _, t := range e.Terms {
			r, err := eval(t, get)
			if err != nil || r == yes {
				return r, err
			}
			if r == unknown {
				res = unknown
			}
		}
		return res, nil
	case *Not:
		r, err := eval(e.X, get)
		if err != nil {
			return no, err
		}
		switch r {
		case yes:
			r = no
		case no:
			r = yes
		}
		return r, err
	case *IsNull:
		fv := lookup(get, e.Field)
		return triOf((fv.k == kNull) != e.Not), nil
	case *Compare:
		op, neg := e.Op, false
		if op == Ne {
			op, neg = Eq, true
		}
		return holds(lookup(get, e.Field), neg, func(v fieldVal) (bool, error) {
			return compare(e.Field, v, op, e.Value)
		})
	case *Like:
		pat := compileLike(e.Pattern)
		return holds(lookup(get, e.Field), e.Not, func(v fieldVal) (bool, error) {
			s, err := v.text(e.Field)
			return err == nil && pat.match(s), err
		})
	case *In:
		return holds(lookup(get, e.Field), e.Not, func(v fieldVal) (bool, error) {
			for _, lit := range e.Values {
				if ok, err := compare(e.Field, v, Eq, lit); ok || err != nil {
					return ok, err
				}
			}
			return false, nil
		})
	case nil:
		return no, fmt.Errorf("%w: nil expression", ErrType)
	}
	return no, fmt.Errorf("%w: unknown expression type %T", ErrType, e)
}

// holds applies the positive predicate pos to a field value: unknown for
// NULL, any-element for lists, and negated when neg is set.
func holds(v fieldVal, neg bool, pos func(fieldVal) (bool, error)) (tri, error) {
	switch v.k {
	case kNull:
		return unknown, nil
	case kList:
		for _, el := range v.list {
			if el.k == kNull {
				continue
			}
			ok, err := pos(el)
			if err != nil {
				return no, err
			}
			if ok {
				return triOf(!neg), nil
			}
		}
		return triOf(neg), nil
	}
	ok, err := pos(v)
	if err != nil {
		return no, err
	}
	return triOf(ok != neg), nil
}

type fieldKind int8

const (
	kNull fieldKind = iota
	kStr
	kNum
	kBool
	kList
	kOther // objects and unsupported types: not NULL, not comparable
)

// fieldVal is a record value normalised for comparison. For kNum, s is the
// number's text (json.Number text as received).
type fieldVal struct {
	k    fieldKind
	s    string
	n    float64
	b    bool
	list []fieldVal
	typ  string // Go type, for kOther errors
}

func lookup(get func(string) (any, bool), field string) fieldVal {
	v, ok := get(field)
	if !ok {
		return fieldVal{}
	}
	return normalize(v)
}

func num(f float64) fieldVal { return fieldVal{k: kNum, n: f, s: formatNumber(f)} }

func normalize(v any) fieldVal {
	switch v := v.(type) {
	case nil:
		return fieldVal{}
	case string:
		return fieldVal{k: kStr, s: v}
	case bool:
		return fieldVal{k: kBool, b: v}
	case float64:
		return num(v)
	case float32:
		return num(float64(v))
	case int:
		return num(float64(v))
	case int8:
		return num(float64(v))
	case int16:
		return num(float64(v))
	case int32:
		return num(float64(v))
	case int64:
		return num(float64(v))
	case uint:
		return num(float64(v))
	case uint8:
		return num(float64(v))
	case uint16:
		return num(float64(v))
	case uint32:
		return num(float64(v))
	case uint64:
		return num(float64(v))
	case json.Number:
		if f, ok := parseDecimal(string(v)); ok {
			return fieldVal{k: kNum, n: f, s: string(v)}
		}
		return fieldVal{k: kStr, s: string(v)}
	case []any:
		l := make([]fieldVal, len(v))
		for i, el := range v {
			l[i] = normalize(el)
		}
		return fieldVal{k: kList, list: l}
	case []string:
		l := make([]fieldVal, len(v))
		for i, el := range v {
			l[i] = fieldVal{k: kStr, s: el}
		}
		return fieldVal{k: kList, list: l}
	}
	return fieldVal{k: kOther, typ: fmt.Sprintf("%T", v)}
}

func (v fieldVal) describe() string {
	switch v.k {
	case kStr:
		return "string " + QuoteString(v.s)
	case kNum:
		return "number " + v.s
	case kBool:
		return "boolean " + strconv.FormatBool(v.b)
	case kList:
		return "a nested list"
	}
	return "a value of type " + v.typ
}

func notScalar(field string, v fieldVal) error {
	return fmt.Errorf("%w: field %q holds %s, not a string, number or boolean (use a dot path to reach nested fields)",
		ErrType, field, v.describe())
}

// text is the value as LIKE sees it.
func (v fieldVal) text(field string) (string, error) {
	switch v.k {
	case kStr, kNum:
		return v.s, nil
	case kBool:
		return strconv.FormatBool(v.b), nil
	}
	return "", notScalar(field, v)
}

// compare evaluates `field op lit` for a non-NULL scalar v.
func compare(field string, v fieldVal, op Op, lit Value) (bool, error) {
	if v.k != kStr && v.k != kNum && v.k != kBool {
		return false, notScalar(field, v)
	}
	if v.k == kBool || lit.Kind == Bool {
		return compareBool(field, v, op, lit)
	}
	switch {
	case v.k == kNum && lit.Kind == Number:
		return apply(op, cmpFloat(v.n, lit.Num)), nil
	case v.k == kNum: // string literal
		if f, ok := parseDecimal(lit.Str); ok {
			return apply(op, cmpFloat(v.n, f)), nil
		}
		return apply(op, foldCompare(v.s, lit.Str)), nil
	case lit.Kind == Number: // string field
		if f, ok := parseDecimal(v.s); ok {
			return apply(op, cmpFloat(f, lit.Num)), nil
		}
		return apply(op, foldCompare(v.s, lit.Text())), nil
	}
	return apply(op, compareStrings(v.s, lit.Str)), nil
}

func compareBool(field string, v fieldVal, op Op, lit Value) (bool, error) {
	if op != Eq && op != Ne {
		return false, fmt.Errorf("%w: %q cannot order booleans (field %q holds %s, value %s)",
			ErrType, op.String(), field, v.describe(), lit.String())
	}
	if v.k == kNum || lit.Kind == Number {
		return false, fmt.Errorf("%w: cannot compare a boolean with a number (field %q holds %s, value %s)",
			ErrType, field, v.describe(), lit.String())
	}
	fb, fok := v.b, v.k == kBool
	if !fok {
		fb, fok = parseBool(v.s)
	}
	lb, lok := lit.Bool, lit.Kind == Bool
	if !lok {
		lb, lok = parseBool(lit.Str)
	}
	eq := fok && lok && fb == lb
	return eq == (op == Eq), nil
}

func parseBool(s string) (b, ok bool) {
	switch {
	case isWord(s, "TRUE"):
		return true, true
	case isWord(s, "FALSE"):
		return false, true
	}
	return false, false
}

// cmpFloat is a three-way comparison; 2 means unordered (NaN).
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return 2
}

func apply(op Op, c int) bool {
	if c == 2 {
		return op == Ne
	}
	switch op {
	case Eq:
		return c == 0
	case Ne:
		return c != 0
	case Lt:
		return c < 0
	case Gt:
		return c > 0
	case Le:
		return c <= 0
	case Ge:
		return c >= 0
	}
	return false
}

// parseDecimal parses s (surrounding spaces allowed) if it is a plain
// decimal number: optional sign, digits, optional fraction and exponent.
// It rejects Inf, NaN, hex and underscores, which strconv would accept.
func parseDecimal(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || scanNumber(s, 0) != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// compareStrings compares as instants when both sides are ISO dates or
// date-times, otherwise case-insensitively.
func compareStrings(a, b string) int {
	if ta, ok := parseTime(a); ok {
		if tb, ok := parseTime(b); ok {
			return ta.Compare(tb)
		}
	}
	return foldCompare(a, b)
}

var timeLayouts = []string{
	"2006-01-02",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05-07",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02T15:04Z07:00",
}

// parseTime parses the date formats CE and Insightly use. Zone-less values
// are UTC. Fractional seconds are accepted after the seconds.
func parseTime(s string) (time.Time, bool) {
	if len(s) < 10 || !digitsAt(s, 0, 4) || s[4] != '-' || !digitsAt(s, 5, 2) || s[7] != '-' || !digitsAt(s, 8, 2) {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// foldCompare compares strings rune by rune after unicode.ToLower, so that
// it agrees with case-insensitive equality.
func foldCompare(a, b string) int {
	if a == b {
		return 0
	}
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra == utf8.RuneError && na == 1 {
			ra = rune(a[0]) + 0x10FFFF // order invalid bytes after all runes
		}
		if rb == utf8.RuneError && nb == 1 {
			rb = rune(b[0]) + 0x10FFFF
		}
		la, lb := unicode.ToLower(ra), unicode.ToLower(rb)
		if la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	}
	return 1
}
