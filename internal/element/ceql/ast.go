package ceql

import (
	"math"
	"strconv"
	"strings"
)

// Expr is a node of a parsed CEQL expression. The set of implementations is
// closed: *[And], *[Or], *[Not], *[Compare], *[Like], *[In] and *[IsNull].
//
// String returns canonical CEQL: keywords in upper case, single spaces around
// operators, strings single-quoted, numbers in shortest form, and every AND
// or OR that is an operand of another AND, OR or NOT in parentheses, even
// where precedence would not need them. Parsing the String of a tree built
// by [Parse] yields an equal tree.
type Expr interface {
	String() string
	isExpr()
}

// And is true when every term is true. Trees built by [Parse] have at least
// two terms; a chain `a AND b AND c` is one And with three terms, while an
// explicitly parenthesised `(a AND b) AND c` keeps its nesting.
type And struct {
	Terms []Expr
}

// Or is true when any term is true. Trees built by [Parse] have at least two
// terms, with the same chain rule as [And].
type Or struct {
	Terms []Expr
}

// Not negates X. It is an extension: CE documents no NOT operator.
type Not struct {
	X Expr
}

// Compare is `Field Op Value`, for example `AnnualRevenue >= 100000`.
type Compare struct {
	Field string
	Op    Op
	Value Value
}

// Like is `Field LIKE 'pattern'`, or `Field NOT LIKE 'pattern'` when Not is
// set. In Pattern, % matches any run of characters, _ matches exactly one,
// and a backslash makes the next character literal (\%, \_, \\).
type Like struct {
	Field   string
	Pattern string
	Not     bool
}

// In is `Field IN (v1, v2, …)`, or `Field NOT IN (…)` when Not is set.
// Values is never empty in trees built by [Parse].
type In struct {
	Field  string
	Values []Value
	Not    bool
}

// IsNull is `Field IS NULL`, or `Field IS NOT NULL` when Not is set.
type IsNull struct {
	Field string
	Not   bool
}

func (*And) isExpr()     {}
func (*Or) isExpr()      {}
func (*Not) isExpr()     {}
func (*Compare) isExpr() {}
func (*Like) isExpr()    {}
func (*In) isExpr()      {}
func (*IsNull) isExpr()  {}

// String returns the terms joined by " AND ".
func (e *And) String() string { return exprString(e) }

// String returns the terms joined by " OR ".
func (e *Or) String() string { return exprString(e) }

// String returns "NOT " followed by the operand, parenthesised if needed.
func (e *Not) String() string { return exprString(e) }

// String returns for example "AnnualRevenue >= 100000".
func (e *Compare) String() string { return exprString(e) }

// String returns for example "Name LIKE 'Acc%'".
func (e *Like) String() string { return exprString(e) }

// String returns for example "id IN (1, 2, 3)".
func (e *In) String() string { return exprString(e) }

// String returns for example "EMAIL IS NOT NULL".
func (e *IsNull) String() string { return exprString(e) }

func exprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *And:
		writeTerms(b, e.Terms, " AND ")
	case *Or:
		writeTerms(b, e.Terms, " OR ")
	case *Not:
		b.WriteString("NOT ")
		writeOperand(b, e.X)
	case *Compare:
		b.WriteString(QuoteField(e.Field))
		b.WriteByte(' ')
		b.WriteString(e.Op.String())
		b.WriteByte(' ')
		b.WriteString(e.Value.String())
	case *Like:
		b.WriteString(QuoteField(e.Field))
		if e.Not {
			b.WriteString(" NOT")
		}
		b.WriteString(" LIKE ")
		b.WriteString(QuoteString(e.Pattern))
	case *In:
		b.WriteString(QuoteField(e.Field))
		if e.Not {
			b.WriteString(" NOT")
		}
		b.WriteString(" IN (")
		for i, v := range e.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.String())
		}
		b.WriteByte(')')
	case *IsNull:
		b.WriteString(QuoteField(e.Field))
		if e.Not {
			b.WriteString(" IS NOT NULL")
		} else {
			b.WriteString(" IS NULL")
		}
	default:
		b.WriteString("<nil>")
	}
}

func writeTerms(b *strings.Builder, terms []Expr, sep string) {
	if len(terms) == 1 {
		writeExpr(b, terms[0])
		return
	}
	for i, t := range terms {
		if i > 0 {
			b.WriteString(sep)
		}
		writeOperand(b, t)
	}
}

// writeOperand parenthesises And and Or operands. That is required for an
// Or inside an And or a Not, keeps the shape of explicitly nested chains of
// the same operator, so Parse∘String is the identity on trees, and spares
// readers the precedence rules for an And inside an Or.
func writeOperand(b *strings.Builder, e Expr) {
	switch e.(type) {
	case *And, *Or:
		b.WriteByte('(')
		writeExpr(b, e)
		b.WriteByte(')')
	default:
		writeExpr(b, e)
	}
}

// Op is a comparison operator of a [Compare] predicate.
type Op int

// The comparison operators. The parser reads `<>` as [Ne].
const (
	Eq Op = iota // =
	Ne           // != (also written <>)
	Lt           // <
	Gt           // >
	Le           // <=
	Ge           // >=
)

var opText = [...]string{Eq: "=", Ne: "!=", Lt: "<", Gt: ">", Le: "<=", Ge: ">="}

// String returns the operator as written in canonical CEQL ("=", "!=", …).
func (o Op) String() string {
	if o >= 0 && int(o) < len(opText) {
		return opText[o]
	}
	return "?" + strconv.Itoa(int(o))
}

// ValueKind tells which field of a [Value] is meaningful.
type ValueKind int

// The kinds of literal values.
const (
	String ValueKind = iota // Value.Str; also bare date-time literals
	Number                  // Value.Num
	Bool                    // Value.Bool
)

// String returns "string", "number" or "bool".
func (k ValueKind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	}
	return "kind" + strconv.Itoa(int(k))
}

// Value is a literal on the right of a predicate. Only the field selected by
// Kind is set; the others are zero. An unquoted date-time such as
// 2015-01-06T09:31:38-07:00 is a String holding the text as written.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
}

// StringValue returns a String value.
func StringValue(s string) Value { return Value{Kind: String, Str: s} }

// NumberValue returns a Number value. f must be finite.
func NumberValue(f float64) Value { return Value{Kind: Number, Num: f} }

// BoolValue returns a Bool value.
func BoolValue(b bool) Value { return Value{Kind: Bool, Bool: b} }

// String returns the value as a CEQL literal: a single-quoted string with
// quotes doubled, a number, or true/false.
func (v Value) String() string {
	if v.Kind == String {
		return QuoteString(v.Str)
	}
	return v.Text()
}

// Text returns the value as plain text, without quotes, as a provider query
// parameter would carry it: the string itself, the number in its shortest
// exact decimal form (integers without exponent below 1e21), or
// "true"/"false".
func (v Value) Text() string {
	switch v.Kind {
	case Number:
		return formatNumber(v.Num)
	case Bool:
		return strconv.FormatBool(v.Bool)
	}
	return v.Str
}

// formatNumber prints f so that it re-parses to exactly f, preferring plain
// integers (100000, not 1e+05) since IDs and amounts are the common case.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// QuoteString returns s as a single-quoted CEQL string literal, doubling
// embedded single quotes.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QuoteField returns name as it must be written on the left of a predicate:
// bare when it is a plain word (letters, digits, _ . -, starting with a
// letter or _) that is not a keyword, otherwise in backticks, or, if it
// contains a backtick, as a single-quoted string.
func QuoteField(name string) string {
	if isBareword(name) && !isKeyword(name) {
		return name
	}
	if !strings.Contains(name, "`") {
		return "`" + name + "`"
	}
	return QuoteString(name)
}
