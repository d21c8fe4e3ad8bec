package ceql

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// assertRoundTrip checks that e.String() parses back to an equal tree.
func assertRoundTrip(t *testing.T, e Expr) {
	t.Helper()
	s := e.String()
	e2, err := Parse(s)
	if err != nil {
		t.Fatalf("re-parse of %q: %v", s, err)
	}
	if !reflect.DeepEqual(e, e2) {
		t.Fatalf("round trip changed the tree:\n in  %#v\n out %#v\n via %q", e, e2, s)
	}
}

var fieldPool = []string{
	"Name", "DATE_UPDATED_UTC", "config.url", "_x", "a-b", "Modified Time", "and", "NULL", "True",
	"1st", "it's", "we`ird", "both`'", "日本", "x y\tz", "-", ".", "é", "\"q\"",
}

var stringPool = []string{
	"", "x", "Edge Communications", "it's", "''", `"`, "`", "%", "a_b\\%", "2018-02-21 07:31:45",
	"2015-01-06T09:31:38-07:00", "line\nbreak", "日本語", " ", "AND", "NULL", "true", "1e3", "-0",
}

func randString(r *rand.Rand, pool []string) string {
	if r.IntN(4) > 0 {
		return pool[r.IntN(len(pool))]
	}
	// Random printable and non-ASCII runes, quotes and backticks included.
	alphabet := []rune("ab Z_.-'\"`%\\()=,<>!0123456789éß日\t\n")
	n := 1 + r.IntN(8)
	rs := make([]rune, n)
	for i := range rs {
		rs[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(rs)
}

func randValue(r *rand.Rand) Value {
	switch r.IntN(6) {
	case 0, 1:
		return StringValue(randString(r, stringPool))
	case 2:
		return NumberValue(float64(r.IntN(2_000_001) - 1_000_000))
	case 3:
		for {
			f := math.Float64frombits(r.Uint64())
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				return NumberValue(f)
			}
		}
	case 4:
		return NumberValue(r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20)))
	}
	return BoolValue(r.IntN(2) == 0)
}

func randExpr(r *rand.Rand, depth int) Expr {
	k := r.IntN(10)
	if depth <= 0 {
		k = 3 + r.IntN(7)
	}
	field := func() string {
		f := randString(r, fieldPool)
		if f == "" {
			f = "f"
		}
		return f
	}
	switch k {
	case 0, 1:
		terms := make([]Expr, 2+r.IntN(3))
		for i := range terms {
			terms[i] = randExpr(r, depth-1)
		}
		if k == 0 {
			return &And{Terms: terms}
		}
		return &Or{Terms: terms}
	case 2:
		return &Not{X: randExpr(r, depth-1)}
	case 3, 4, 5:
		return &Compare{Field: field(), Op: Op(r.IntN(6)), Value: randValue(r)}
	case 6:
		return &Like{Field: field(), Pattern: randString(r, stringPool), Not: r.IntN(2) == 0}
	case 7, 8:
		vals := make([]Value, 1+r.IntN(4))
		for i := range vals {
			vals[i] = randValue(r)
		}
		return &In{Field: field(), Values: vals, Not: r.IntN(2) == 0}
	}
	return &IsNull{Field: field(), Not: r.IntN(2) == 0}
}

func TestRoundTripRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		e := randExpr(r, 1+r.IntN(5))
		assertRoundTrip(t, e)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Name='Edge Communications'",
		"Name='Account Name' AND Industry='Electronics'",
		"LastModifiedDate>'2018-01-15T00:00:00.000Z' AND (Name='Account Name' OR Industry='Apparel')",
		"Name LIKE 'Acc%'",
		"AnnualRevenue >= 100000",
		"`metaData.lastUpdateTime` > 2015-01-06T09:31:38-07:00",
		"'Modified Time'>'2019-01-01T00:00:00+00:00'",
		"channel='webhook' and status='queued' and config.url='https://x.test/a?b=c'",
		"updated_after_utc='2018-02-21 07:31:45'",
		"updated_after_utc ='2018-02-21 07:31:45'",
		"tag='VIP'",
		"id IN (1, 2, 3)",
		"EMAIL IS NULL",
		"EMAIL IS NOT NULL",
		"NOT (a<>1 OR b NOT LIKE 'x\\%') AND c NOT IN (\"d\", -1.5e3, true)",
		"a=1 b=2",
		"a == 1",
		"a = null",
		"((a=1)",
		"a='it''s'",
		"x=1e400",
		"d=2015-01-06T09:31:38-07:00x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := Parse(in)
		if err != nil {
			pe, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v is %T", err, err)
			}
			if pe.Pos < 0 || pe.Pos > len(in) {
				t.Fatalf("error position %d outside input of length %d", pe.Pos, len(in))
			}
			if strings.Contains(pe.Error(), "\n") || strings.Count(pe.Snippet(), "\n") != 1 {
				t.Fatalf("bad error layout: %q / %q", pe.Error(), pe.Snippet())
			}
			return
		}
		if e == nil {
			if strings.TrimSpace(in) != "" {
				t.Fatalf("nil Expr for non-blank %q", in)
			}
			return
		}
		s := e.String()
		if len(s) > MaxLength {
			return // canonical form may be longer than the input
		}
		e2, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q fails: %v", in, s, err)
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("String not stable: %q -> %q -> %q", in, s, s2)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("tree changed: %q -> %q", in, s)
		}
		// Eval must not panic on any tree, whatever the record holds.
		_, _ = Eval(e, func(field string) (any, bool) {
			switch len(field) % 5 {
			case 0:
				return nil, false
			case 1:
				return field, true
			case 2:
				return float64(len(field)), true
			case 3:
				return []any{field, true, nil}, true
			}
			return len(field)%2 == 0, true
		})
	})
}
