package ceql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func cmp(field string, op Op, v Value) *Compare { return &Compare{Field: field, Op: op, Value: v} }

func TestParseDocumentedExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // canonical String()
		ast  Expr   // optional structural check
	}{
		{"Name='Edge Communications'", "Name = 'Edge Communications'",
			cmp("Name", Eq, StringValue("Edge Communications"))},
		{"Name='Account Name' AND Industry='Electronics'", "Name = 'Account Name' AND Industry = 'Electronics'",
			&And{Terms: []Expr{cmp("Name", Eq, StringValue("Account Name")), cmp("Industry", Eq, StringValue("Electronics"))}}},
		{"LastModifiedDate>'2018-01-15T00:00:00.000Z' AND (Name='Account Name' OR Industry='Apparel')",
			"LastModifiedDate > '2018-01-15T00:00:00.000Z' AND (Name = 'Account Name' OR Industry = 'Apparel')",
			&And{Terms: []Expr{
				cmp("LastModifiedDate", Gt, StringValue("2018-01-15T00:00:00.000Z")),
				&Or{Terms: []Expr{cmp("Name", Eq, StringValue("Account Name")), cmp("Industry", Eq, StringValue("Apparel"))}},
			}}},
		{"Name LIKE 'Acc%'", "Name LIKE 'Acc%'", &Like{Field: "Name", Pattern: "Acc%"}},
		{"AnnualRevenue >= 100000", "AnnualRevenue >= 100000", cmp("AnnualRevenue", Ge, NumberValue(100000))},
		{"`metaData.lastUpdateTime` > 2015-01-06T09:31:38-07:00", "metaData.lastUpdateTime > '2015-01-06T09:31:38-07:00'",
			cmp("metaData.lastUpdateTime", Gt, StringValue("2015-01-06T09:31:38-07:00"))},
		{"'Modified Time'>'2019-01-01T00:00:00+00:00'", "`Modified Time` > '2019-01-01T00:00:00+00:00'",
			cmp("Modified Time", Gt, StringValue("2019-01-01T00:00:00+00:00"))},
		{"channel='webhook' and status='queued' and config.url='https://x.test/a?b=c'",
			"channel = 'webhook' AND status = 'queued' AND config.url = 'https://x.test/a?b=c'",
			&And{Terms: []Expr{cmp("channel", Eq, StringValue("webhook")), cmp("status", Eq, StringValue("queued")),
				cmp("config.url", Eq, StringValue("https://x.test/a?b=c"))}}},
		{"updated_after_utc='2018-02-21 07:31:45'", "updated_after_utc = '2018-02-21 07:31:45'",
			cmp("updated_after_utc", Eq, StringValue("2018-02-21 07:31:45"))},
		{"updated_after_utc ='2018-02-21 07:31:45'", "updated_after_utc = '2018-02-21 07:31:45'",
			cmp("updated_after_utc", Eq, StringValue("2018-02-21 07:31:45"))},
		{"tag='VIP'", "tag = 'VIP'", cmp("tag", Eq, StringValue("VIP"))},
		{"id IN (1, 2, 3)", "id IN (1, 2, 3)",
			&In{Field: "id", Values: []Value{NumberValue(1), NumberValue(2), NumberValue(3)}}},
		{"EMAIL IS NULL", "EMAIL IS NULL", &IsNull{Field: "EMAIL"}},
		{"EMAIL IS NOT NULL", "EMAIL IS NOT NULL", &IsNull{Field: "EMAIL", Not: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if tt.ast != nil && !reflect.DeepEqual(e, tt.ast) {
				t.Errorf("AST = %#v, want %#v", e, tt.ast)
			}
			assertRoundTrip(t, e)
		})
	}
}

func TestParseForms(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// Keywords in any case.
		{"a=1 and b=2 Or c=3", "(a = 1 AND b = 2) OR c = 3"},
		{"x like 'a%' AND y In (1,2) aNd z is not null", "x LIKE 'a%' AND y IN (1, 2) AND z IS NOT NULL"},
		{"x not like 'a%'", "x NOT LIKE 'a%'"},
		{"x NOT IN ('a', \"b\")", "x NOT IN ('a', 'b')"},
		{"EMAIL is null", "EMAIL IS NULL"},
		{"ACTIVE = TRUE or ACTIVE = false", "ACTIVE = true OR ACTIVE = false"},
		// Whitespace is optional where tokens delimit themselves.
		{"a='b'AND c=1", "a = 'b' AND c = 1"},
		{"(a=1)OR(b=2)", "a = 1 OR b = 2"},
		{"id IN(1,2)", "id IN (1, 2)"},
		{"NOT(a=1)", "NOT a = 1"},
		{"  \t a\n=\r1  ", "a = 1"},
		// Operators.
		{"a<>1", "a != 1"},
		{"a!=1", "a != 1"},
		{"a<1 AND b>1 AND c<=1 AND d>=1", "a < 1 AND b > 1 AND c <= 1 AND d >= 1"},
		{"a=-1", "a = -1"},
		{"a=>'x'", ""}, // error, checked elsewhere; skipped below
		// Numbers.
		{"a=3.5", "a = 3.5"},
		{"a=1e3", "a = 1000"},
		{"a=1E-3", "a = 0.001"},
		{"a=007", "a = 7"},
		{"a=1e21", "a = 1e+21"},
		{"a=12345678901234567", "a = 12345678901234568"},
		// Strings and escaping.
		{"a='O''Brien'", "a = 'O''Brien'"},
		{`a="say ""hi"" it's"`, `a = 'say "hi" it''s'`},
		{`a='back\slash'`, `a = 'back\slash'`},
		{"a=''", "a = ''"},
		{"a='multi\nline'", "a = 'multi\nline'"},
		{"a='ünïcödé 日本'", "a = 'ünïcödé 日本'"},
		// Bare dates.
		{"d>2015-01-06", "d > '2015-01-06'"},
		{"d>2018-01-15T00:00:00.000Z", "d > '2018-01-15T00:00:00.000Z'"},
		{"d>2018-01-15T00:00Z", "d > '2018-01-15T00:00Z'"},
		{"d>2018-01-15T00:00:00+0530", "d > '2018-01-15T00:00:00+0530'"},
		{"d>2018-01-15T00:00:00-07", "d > '2018-01-15T00:00:00-07'"},
		{"d IN (2015-01-06, 2015-01-07)", "d IN ('2015-01-06', '2015-01-07')"},
		{"d LIKE 2015-01-06", "d LIKE '2015-01-06'"},
		// Field spellings.
		{"`and` = 1", "`and` = 1"},
		{"`a b` = 1", "`a b` = 1"},
		{"\"Modified Time\" = 1", "`Modified Time` = 1"},
		{"'we`ird' = 1", "'we`ird' = 1"},
		{"'it''s' = 1", "`it's` = 1"},
		{"_x.y-z = 1", "_x.y-z = 1"},
		{"Ünïcode = 1", "Ünïcode = 1"},
		{"`1st` = 1", "`1st` = 1"},
		// Structure and precedence.
		{"a=1 OR b=2 AND c=3", "a = 1 OR (b = 2 AND c = 3)"},
		{"(a=1 OR b=2) AND c=3", "(a = 1 OR b = 2) AND c = 3"},
		{"(a=1 AND b=2) AND c=3", "(a = 1 AND b = 2) AND c = 3"},
		{"((a=1))", "a = 1"},
		{"NOT a=1 AND b=2", "NOT a = 1 AND b = 2"},
		{"NOT (a=1 AND b=2)", "NOT (a = 1 AND b = 2)"},
		{"NOT NOT a=1", "NOT NOT a = 1"},
		{"a IN (1, 'x', true, -2.5)", "a IN (1, 'x', true, -2.5)"},
	}
	for _, tt := range tests {
		if tt.want == "" {
			continue
		}
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			assertRoundTrip(t, e)
		})
	}
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", " ", "\t\r\n "} {
		e, err := Parse(in)
		if e != nil || err != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, nil", in, e, err)
		}
	}
}

func TestParseAST(t *testing.T) {
	t.Parallel()
	e, err := Parse("NOT (a=1 OR b<>'x') AND c LIKE '%z' AND (d=true AND e IS NULL)")
	if err != nil {
		t.Fatal(err)
	}
	want := &And{Terms: []Expr{
		&Not{X: &Or{Terms: []Expr{cmp("a", Eq, NumberValue(1)), cmp("b", Ne, StringValue("x"))}}},
		&Like{Field: "c", Pattern: "%z"},
		&And{Terms: []Expr{cmp("d", Eq, BoolValue(true)), &IsNull{Field: "e"}}},
	}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %#v\nwant %#v", e, want)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	deepParens := strings.Repeat("(", MaxDepth+1) + "a=1" + strings.Repeat(")", MaxDepth+1)
	deepNots := strings.Repeat("NOT ", MaxDepth+1) + "a=1"
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{"a='abc", 2, "unterminated string"},
		{`a="abc''`, 2, "unterminated string"},
		{"a='it''s", 2, "unterminated string"},
		{"`abc = 1", 0, "unterminated `field name`"},
		{"`` = 1", 0, "empty field name"},
		{"'' = 1", 0, "empty field name"},
		{"a=1 b=2", 4, `expected AND or OR, found "b"`},
		{"a == 1", 2, `unknown operator "==" (use "=")`},
		{"a =< 1", 2, `(use "<=")`},
		{"a => 1", 2, `(use ">=")`},
		{"a ! 1", 2, `unexpected "!"`},
		{"a = null", 4, "use IS NULL"},
		{"a = NULL", 4, "use IS NULL"},
		{"a != null", 5, "use IS NOT NULL"},
		{"a <> null", 5, `using "<>"; use IS NOT NULL`},
		{"a < null", 4, "cannot order NULL"},
		{"a IN (1, null)", 9, "NULL is not allowed in an IN list"},
		{"a LIKE null", 7, "use IS NULL"},
		{"(a=1 AND b=2", 0, `unclosed "("`},
		{"a=1 AND (b=2 OR (c=3)", 8, `unclosed "("`},
		{"(a=1 b=2)", 5, `expected AND, OR or ")" to close "(" at offset 0, found "b"`},
		{"a=1)", 3, `unexpected ")" without a matching "("`},
		{"id IN ()", 6, "empty IN list"},
		{"id IN (1,)", 9, `expected a value after ",", found ")"`},
		{"id IN (1 2)", 9, `expected "," or ")" in IN list, found "2"`},
		{"id IN (1, 2", 6, "unclosed IN list"},
		{"id IN (", 6, "unclosed IN list"},
		{"id IN 1", 6, `expected "(" after IN`},
		{"a = AND b=1", 4, `expected a value after "=", found "AND"`},
		{"Name=", 5, `expected a value after "=", found end of input`},
		{"a = b", 4, `quote text values: 'b'`},
		{"a = `b`", 4, "comparing two fields is not supported"},
		{"a LIKE 5", 7, "expected a quoted pattern after LIKE"},
		{"a NOT = 1", 6, "expected LIKE or IN after NOT"},
		{"a IS 'x'", 5, "expected NULL or NOT NULL after IS"},
		{"a IS NOT", 8, "expected NULL or NOT NULL after IS, found end of input"},
		{"a 1", 2, `expected an operator (= != < > <= >= LIKE IN IS) after field "a", found "1"`},
		{"a", 1, "expected an operator"},
		{"AND a=1", 0, `expected a field name, found "AND"`},
		{"a=1 AND", 7, `expected a field name after "AND", found end of input`},
		{"a=1 AND OR b=1", 8, `expected a field name after "AND", found "OR"`},
		{"in = 1", 0, "write `in` to use a keyword"},
		{"()", 1, `expected a field name after "(", found ")"`},
		{"1 = a", 0, "expected a field name"},
		{"a=1AND b=2", 2, `malformed number "1AND"`},
		{"a=12abc", 2, `malformed number "12abc"`},
		{"a=1.", 2, `malformed number "1."`},
		{"a=1e", 2, `malformed number "1e"`},
		{"a=1e999", 2, "out of range"},
		{"a=-", 2, `unexpected character '-'`},
		{"a=2015-01-06x", 2, "malformed date-time"},
		{"a=2015-01-06T09:31:38-07:00:00", 2, "malformed date-time"},
		{"a=2015-13-06", 2, "invalid date-time"},
		{"a=2015-01-06T25:00", 2, "invalid date-time"},
		{"a=2018-02-21 07:31:45", 2, `must be quoted: '2018-02-21 07:31:45'`},
		{"a=1 && b=2", 4, "use AND"},
		{"a=1 || b=2", 4, "use OR"},
		{"a=1 # b", 4, "unexpected character '#'"},
		{"a=\xff", 2, "invalid UTF-8"},
		{strings.Repeat(" ", MaxLength) + "a=1", MaxLength, "too long"},
		{deepParens, MaxDepth, "nested too deeply"},
		{deepNots, 4 * MaxDepth, "nested too deeply"},
		// The first error in input order wins, lexical or not.
		{"a=1 b=2 'open", 4, "expected AND or OR"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.in, e)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if pe.Pos != tt.pos || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Parse(%q) error = %v\nwant offset %d, message containing %q", tt.in, err, tt.pos, tt.msg)
			}
			if pe.Input != tt.in {
				t.Errorf("Input = %q", pe.Input)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Error() has a newline: %q", err.Error())
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	_, err := Parse("Name = AND x=1")
	want := `ceql: at offset 7: expected a value after "=", found "AND"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if got, want := err.(*Error).Snippet(), "Name = AND x=1\n       ^"; got != want {
		t.Errorf("Snippet() =\n%s\nwant\n%s", got, want)
	}
}

func TestErrorSnippet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Pos: 0, Input: ""}, "\n^"},
		{Error{Pos: 3, Input: "a=1"}, "a=1\n   ^"},
		{Error{Pos: 4, Input: "é='\tx"}, "é=' x\n   ^"},
		{Error{Pos: 2, Input: "a=\xff"}, "a=?\n  ^"},
		{Error{Pos: 50, Input: strings.Repeat("x", 45) + "a=1 b" + strings.Repeat("y", 50)},
			"…" + strings.Repeat("x", 35) + "a=1 b" + strings.Repeat("y", 40) + "…\n" + strings.Repeat(" ", 41) + "^"},
		{Error{Pos: 99, Input: "short"}, "short\n     ^"},
	}
	for _, tt := range tests {
		if got := tt.e.Snippet(); got != tt.want {
			t.Errorf("Snippet(%q@%d) =\n%s\nwant\n%s", tt.e.Input, tt.e.Pos, got, tt.want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	ok := strings.Repeat("(", MaxDepth) + "a=1" + strings.Repeat(")", MaxDepth)
	if _, err := Parse(ok); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	// Long but flat expressions are fine up to MaxLength.
	var b strings.Builder
	b.WriteString("a=1")
	for b.Len()+8 <= MaxLength {
		b.WriteString(" OR a=1")
	}
	if _, err := Parse(b.String()); err != nil {
		t.Errorf("len %d: %v", b.Len(), err)
	}
	// Deep nesting never overflows the stack, however long the input.
	if _, err := Parse(strings.Repeat("(", MaxLength)); err == nil {
		t.Error("want error for deep parens")
	}
}

func TestConjuncts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a=1", []string{"a = 1"}},
		{"a=1 AND b=2 AND c=3", []string{"a = 1", "b = 2", "c = 3"}},
		{"(a=1 AND b=2) AND (c=3 AND (d=4 AND e=5))", []string{"a = 1", "b = 2", "c = 3", "d = 4", "e = 5"}},
		{"updated_after_utc='2018-02-21 07:31:45' AND (a=1 OR b=2) AND NOT c=3",
			[]string{"updated_after_utc = '2018-02-21 07:31:45'", "a = 1 OR b = 2", "NOT c = 3"}},
		{"a=1 OR b=2", []string{"a = 1 OR b = 2"}},
		{"NOT (a=1 AND b=2)", []string{"NOT (a = 1 AND b = 2)"}},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range Conjuncts(e) {
			got = append(got, c.String())
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Conjuncts(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValueAndOpStrings(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{StringValue("it's").String(), "'it''s'"},
		{StringValue("it's").Text(), "it's"},
		{NumberValue(100000).Text(), "100000"},
		{NumberValue(-0.25).String(), "-0.25"},
		{NumberValue(1e300).Text(), "1e+300"},
		{BoolValue(true).String(), "true"},
		{Ne.String(), "!="},
		{Op(42).String(), "?42"},
		{Number.String(), "number"},
		{QuoteField("NAME"), "NAME"},
		{QuoteField("null"), "`null`"},
		{QuoteField("a b"), "`a b`"},
		{QuoteField("a`b'c"), "'a`b''c'"},
		{QuoteField("-x"), "`-x`"},
		{(&And{}).String(), ""},
		{(&Or{Terms: []Expr{&IsNull{Field: "a"}}}).String(), "a IS NULL"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
