package ceql

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxLength is the longest where expression, in bytes, that [Parse] accepts.
const MaxLength = 8 << 10

// MaxDepth is how deeply [Parse] lets parentheses and NOT nest.
const MaxDepth = 64

// Parse parses a CEQL where expression such as
// `Name='Account Name' AND Industry='Electronics'`. An empty or
// whitespace-only expression means "no filter" and yields a nil Expr and a
// nil error. Errors are of type *[Error] and carry the byte offset of the
// problem.
//
// Keywords (AND, OR, NOT, LIKE, IN, IS, NULL, TRUE, FALSE) are
// case-insensitive. Whitespace is needed only between two adjacent words or
// numbers: quotes, parentheses, commas and operators delimit themselves, so
// `a='b'AND c=1` parses but `a=1AND c=1` is a malformed number. A field is a
// bareword (letters, digits, _ . -, starting with a letter or _), a
// `backticked` name, or a quoted string on the left of an operator
// ('Modified Time' > '2019-01-01'). A value is a '…' or "…" string (a
// doubled quote stands for one), a number, true, false, or an unquoted ISO
// date or date-time (2015-01-06T09:31:38-07:00), which becomes a string.
// `= null` is rejected in favour of IS NULL, and `<>` is read as `!=`.
func Parse(where string) (Expr, error) {
	if len(where) > MaxLength {
		return nil, &Error{Pos: MaxLength, Input: where,
			Msg: fmt.Sprintf("expression is too long (%d bytes, limit %d)", len(where), MaxLength)}
	}
	if !utf8.ValidString(where) {
		i := 0
		for i < len(where) {
			r, n := utf8.DecodeRuneInString(where[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, &Error{Pos: i, Msg: "invalid UTF-8", Input: where}
	}
	p := &parser{lx: lexer{src: where}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, nil
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tokEOF:
		return e, nil
	case tokRParen:
		return nil, p.errAt(p.tok.pos, `unexpected ")" without a matching "("`)
	}
	return nil, p.errAt(p.tok.pos, "expected AND or OR, found %s", p.describe(p.tok))
}

type parser struct {
	lx    lexer
	tok   token // current token
	prev  token // last consumed token, for "after …" messages
	depth int
}

func (p *parser) advance() error {
	p.prev = p.tok
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return p.lx.errAt(pos, format, args...)
}

// describe names a token for error messages: its source text, quoted and
// shortened, or "end of input".
func (p *parser) describe(t token) string {
	if t.kind == tokEOF {
		return "end of input"
	}
	text := p.lx.src[t.pos:t.end]
	if len(text) > 32 {
		cut := 32
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return strconv.Quote(text)
}

func (p *parser) isKw(kw string) bool { return p.tok.kind == tokWord && isWord(p.tok.str, kw) }

func (p *parser) parseOr() (Expr, error) {
	x, err := p.parseAnd()
	if err != nil || !p.isKw("OR") {
		return x, err
	}
	terms := []Expr{x}
	for p.isKw("OR") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = append(terms, x)
	}
	return &Or{Terms: terms}, nil
}

func (p *parser) parseAnd() (Expr, error) {
	x, err := p.parseUnary()
	if err != nil || !p.isKw("AND") {
		return x, err
	}
	terms := []Expr{x}
	for p.isKw("AND") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		terms = append(terms, x)
	}
	return &And{Terms: terms}, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errAt(p.tok.pos, "expression is nested too deeply (limit %d levels of parentheses and NOT)", MaxDepth)
	}
	return nil
}

func (p *parser) parseUnary() (Expr, error) {
	switch {
	case p.tok.kind == tokLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		open := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tokRParen:
		case tokEOF:
			return nil, p.errAt(open, `unclosed "(": expected ")" before end of input`)
		default:
			return nil, p.errAt(p.tok.pos, `expected AND, OR or ")" to close "(" at offset %d, found %s`, open, p.describe(p.tok))
		}
		p.depth--
		return x, p.advance()
	case p.isKw("NOT"):
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &Not{X: x}, nil
	}
	return p.parsePredicate()
}

func (p *parser) parseField() (string, error) {
	t := p.tok
	switch {
	case t.kind == tokWord && !isKeyword(t.str), t.kind == tokField:
		return t.str, p.advance()
	case t.kind == tokString:
		if t.str == "" {
			return "", p.errAt(t.pos, "empty field name")
		}
		return t.str, p.advance()
	}
	msg := "expected a field name"
	if p.prev.kind != tokEOF {
		msg += " after " + p.describe(p.prev)
	}
	msg += ", found " + p.describe(t)
	if t.kind == tokWord && !isWord(t.str, "AND") && !isWord(t.str, "OR") {
		msg += fmt.Sprintf(" (write `%s` to use a keyword as a field name)", t.str)
	}
	return "", p.errAt(t.pos, "%s", msg)
}

func (p *parser) parsePredicate() (Expr, error) {
	fieldTok := p.tok
	field, err := p.parseField()
	if err != nil {
		return nil, err
	}
	switch {
	case p.tok.kind == tokOp:
		op := p.tok.op
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.parseValue(op)
		if err != nil {
			return nil, err
		}
		return &Compare{Field: field, Op: op, Value: v}, nil
	case p.isKw("NOT"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch {
		case p.isKw("LIKE"):
			return p.parseLike(field, true)
		case p.isKw("IN"):
			return p.parseIn(field, true)
		}
		return nil, p.errAt(p.tok.pos, `expected LIKE or IN after NOT, found %s (use "!=" for inequality)`, p.describe(p.tok))
	case p.isKw("LIKE"):
		return p.parseLike(field, false)
	case p.isKw("IN"):
		return p.parseIn(field, false)
	case p.isKw("IS"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		not := p.isKw("NOT")
		if not {
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if !p.isKw("NULL") {
			return nil, p.errAt(p.tok.pos, "expected NULL or NOT NULL after IS, found %s", p.describe(p.tok))
		}
		return &IsNull{Field: field, Not: not}, p.advance()
	}
	return nil, p.errAt(p.tok.pos, "expected an operator (= != < > <= >= LIKE IN IS) after field %s, found %s",
		p.describe(fieldTok), p.describe(p.tok))
}

// parseValue reads the literal after a comparison operator op.
func (p *parser) parseValue(op Op) (Value, error) {
	t := p.tok
	switch {
	case t.kind == tokString, t.kind == tokDate:
		return StringValue(t.str), p.advance()
	case t.kind == tokNumber:
		return NumberValue(t.num), p.advance()
	case p.isKw("TRUE"), p.isKw("FALSE"):
		return BoolValue(p.isKw("TRUE")), p.advance()
	case p.isKw("NULL"):
		switch op {
		case Eq:
			return Value{}, p.errAt(t.pos, `cannot compare with NULL using "="; use IS NULL`)
		case Ne:
			return Value{}, p.errAt(t.pos, `cannot compare with NULL using %q; use IS NOT NULL`, p.lx.src[p.prev.pos:p.prev.end])
		}
		return Value{}, p.errAt(t.pos, "cannot order NULL; use IS NULL or IS NOT NULL")
	}
	return Value{}, p.valueError(t)
}

// valueError explains why t is not a value, with a hint where one helps.
func (p *parser) valueError(t token) error {
	msg := fmt.Sprintf("expected a value after %s, found %s", p.describe(p.prev), p.describe(t))
	switch {
	case t.kind == tokWord && !isKeyword(t.str):
		msg += fmt.Sprintf(" (quote text values: %s)", QuoteString(t.str))
	case t.kind == tokField:
		msg += " (comparing two fields is not supported; quote text values with ')"
	}
	return p.errAt(t.pos, "%s", msg)
}

func (p *parser) parseLike(field string, not bool) (Expr, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	t := p.tok
	switch {
	case t.kind == tokString, t.kind == tokDate:
		return &Like{Field: field, Pattern: t.str, Not: not}, p.advance()
	case p.isKw("NULL"):
		return nil, p.errAt(t.pos, "LIKE NULL is not supported; use IS NULL")
	}
	return nil, p.errAt(t.pos, "expected a quoted pattern after LIKE, found %s", p.describe(t))
}

func (p *parser) parseIn(field string, not bool) (Expr, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokLParen {
		return nil, p.errAt(p.tok.pos, `expected "(" after IN, found %s`, p.describe(p.tok))
	}
	open := p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokRParen {
		return nil, p.errAt(open, "empty IN list")
	}
	var vals []Value
	for {
		if p.isKw("NULL") {
			return nil, p.errAt(p.tok.pos, "NULL is not allowed in an IN list; use IS NULL")
		}
		if p.tok.kind == tokEOF {
			return nil, p.errAt(open, `unclosed IN list: expected ")" before end of input`)
		}
		v, err := p.parseValue(Eq)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		switch p.tok.kind {
		case tokComma:
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		case tokRParen:
			return &In{Field: field, Values: vals, Not: not}, p.advance()
		case tokEOF:
			return nil, p.errAt(open, `unclosed IN list: expected ")" before end of input`)
		}
		return nil, p.errAt(p.tok.pos, `expected "," or ")" in IN list, found %s`, p.describe(p.tok))
	}
}
