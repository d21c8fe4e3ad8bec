package ceql

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// contactJSON is an Insightly v2.2-like contact: UPPER_SNAKE keys,
// yyyy-MM-dd HH:mm:ss UTC dates, nulls for empty fields.
const contactJSON = `{
	"CONTACT_ID": 123456789,
	"SALUTATION": null,
	"FIRST_NAME": "Ada",
	"LAST_NAME": "O'Brien",
	"BACKGROUND": "",
	"IMAGE_URL": "https://cdn.insightly.example/img/ada.png",
	"DEFAULT_LINKED_ORGANISATION": 77,
	"OWNER_USER_ID": 987,
	"DATE_CREATED_UTC": "2017-06-01 12:00:00",
	"DATE_UPDATED_UTC": "2018-02-21 07:31:45",
	"VISIBLE_TO": "EVERYONE",
	"VISIBLE_TEAM_ID": null,
	"EMAIL_ADDRESS": "ada@example.com",
	"PHONE": "+44 20 7946 0000",
	"AMOUNT_TEXT": "1500.50",
	"CAN_EDIT": true,
	"CAN_DELETE": false,
	"TAGS": ["VIP", "Gold"],
	"NO_TAGS": [],
	"ADDRESS_MAIL": {"CITY": "London", "POSTCODE": "NW1 6XE"},
	"CUSTOMFIELDS": [{"FIELD_NAME": "Tier__c", "FIELD_VALUE": "Platinum"}]
}`

func decodeRecord(t testing.TB, useNumber bool) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(contactJSON))
	if useNumber {
		d.UseNumber()
	}
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// pathGetter resolves dot paths through nested objects, as the Insightly
// element's getter will.
func pathGetter(rec map[string]any) func(string) (any, bool) {
	return func(field string) (any, bool) {
		var cur any = rec
		for _, part := range strings.Split(field, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[part]; !ok {
				return nil, false
			}
		}
		return cur, true
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		where string
		want  bool
	}{
		// Strings: case-insensitive equality, quote escaping.
		{"FIRST_NAME = 'Ada'", true},
		{"FIRST_NAME = 'ADA'", true},
		{"FIRST_NAME != 'ada'", false},
		{"FIRST_NAME <> 'Bob'", true},
		{"LAST_NAME = 'O''Brien'", true},
		{`LAST_NAME = "o'brien"`, true},
		{"BACKGROUND = ''", true},
		{"BACKGROUND IS NULL", false},
		{"FIRST_NAME < 'b'", true},
		{"FIRST_NAME < 'B'", true},
		{"FIRST_NAME >= 'ADA'", true},
		{"FIRST_NAME > 'ADA'", false},
		// Dates: Insightly format, ISO format, bare literals, mixed.
		{"DATE_UPDATED_UTC > '2018-02-21 07:31:44'", true},
		{"DATE_UPDATED_UTC > '2018-02-21 07:31:45'", false},
		{"DATE_UPDATED_UTC >= '2018-02-21 07:31:45'", true},
		{"DATE_UPDATED_UTC = '2018-02-21 07:31:45'", true},
		{"DATE_UPDATED_UTC > '2018-01-15T00:00:00.000Z'", true},
		{"DATE_UPDATED_UTC > 2018-02-21T07:31:45Z", false},
		{"DATE_UPDATED_UTC = 2018-02-21T07:31:45Z", true},
		{"DATE_UPDATED_UTC = 2018-02-21T08:31:45+01:00", true},
		{"DATE_UPDATED_UTC < 2018-02-21T08:00:00+01:00", false},
		{"DATE_UPDATED_UTC > 2018-02-21", true},
		{"DATE_UPDATED_UTC < 2018-02-22", true},
		// Numbers from float64 / json.Number, numeric strings.
		{"CONTACT_ID = 123456789", true},
		{"CONTACT_ID = '123456789'", true},
		{"CONTACT_ID = '123456789.0'", true},
		{"CONTACT_ID > 1e8", true},
		{"CONTACT_ID != 1", true},
		{"OWNER_USER_ID IN (1, 987)", true},
		{"OWNER_USER_ID IN ('986', '987')", true},
		{"OWNER_USER_ID NOT IN (1, 2)", true},
		{"OWNER_USER_ID < 1000 AND OWNER_USER_ID >= 987", true},
		{"OWNER_USER_ID = 'abc'", false},
		{"OWNER_USER_ID != 'abc'", true},
		{"AMOUNT_TEXT > 1000", true},
		{"AMOUNT_TEXT = 1500.5", true},
		{"AMOUNT_TEXT < 2e3", true},
		{"AMOUNT_TEXT = '1500.5'", false}, // both strings: compared as text
		{"PHONE = 442079460000", false},
		{"PHONE LIKE '+44%'", true},
		{"CONTACT_ID LIKE '1234%'", true},
		// Booleans.
		{"CAN_EDIT = true", true},
		{"CAN_EDIT = TRUE", true},
		{"CAN_EDIT = 'true'", true},
		{"CAN_EDIT = 'TRUE'", true},
		{"CAN_EDIT != false", true},
		{"CAN_DELETE = false", true},
		{"CAN_EDIT = 'yes'", false},
		{"CAN_EDIT != 'yes'", true},
		{"CAN_EDIT IN (false, true)", true},
		{"CAN_EDIT LIKE 'tr%'", true},
		{"VISIBLE_TO = true", false},
		{"VISIBLE_TO != true", true},
		// NULL and missing fields: SQL-like, three-valued.
		{"SALUTATION IS NULL", true},
		{"SALUTATION IS NOT NULL", false},
		{"NO_SUCH_FIELD IS NULL", true},
		{"EMAIL_ADDRESS IS NOT NULL", true},
		{"SALUTATION = 'Mr'", false},
		{"SALUTATION != 'Mr'", false},
		{"NO_SUCH_FIELD != 'x'", false},
		{"NO_SUCH_FIELD < 5", false},
		{"SALUTATION LIKE '%'", false},
		{"SALUTATION NOT LIKE 'x'", false},
		{"SALUTATION IN ('Mr')", false},
		{"SALUTATION NOT IN ('Mr')", false},
		{"NOT SALUTATION = 'Mr'", false},
		{"NOT (SALUTATION = 'Mr' AND FIRST_NAME = 'Ada')", false},
		{"NOT (SALUTATION = 'Mr' AND FIRST_NAME = 'Bob')", true},
		{"SALUTATION = 'Mr' OR FIRST_NAME = 'Ada'", true},
		{"NOT (SALUTATION = 'Mr' OR FIRST_NAME = 'Bob')", false},
		{"NOT SALUTATION IS NULL", false},
		// LIKE.
		{"EMAIL_ADDRESS LIKE '%@example.com'", true},
		{"EMAIL_ADDRESS LIKE '%@EXAMPLE.COM'", true},
		{"EMAIL_ADDRESS LIKE 'ada@%'", true},
		{"EMAIL_ADDRESS LIKE 'ad_@example.com'", true},
		{"EMAIL_ADDRESS LIKE 'a_@example.com'", false},
		{"EMAIL_ADDRESS LIKE '%example%'", true},
		{"EMAIL_ADDRESS LIKE 'example'", false},
		{"EMAIL_ADDRESS NOT LIKE '%@other.com'", true},
		{"FIRST_NAME LIKE 'A\\%'", false},
		{"VISIBLE_TO LIKE 'every_ne'", true},
		// Lists: any element; negations mean "no element".
		{"TAGS = 'vip'", true},
		{"TAGS = 'Silver'", false},
		{"TAGS != 'VIP'", false},
		{"TAGS != 'Silver'", true},
		{"TAGS IN ('Silver', 'gold')", true},
		{"TAGS NOT IN ('Silver', 'Gold')", false},
		{"TAGS LIKE 'G%'", true},
		{"TAGS IS NULL", false},
		{"NO_TAGS = 'VIP'", false},
		{"NO_TAGS != 'VIP'", true},
		{"NO_TAGS IS NOT NULL", true},
		// Dot paths are resolved by the getter.
		{"ADDRESS_MAIL.CITY = 'london'", true},
		{"ADDRESS_MAIL.POSTCODE LIKE 'NW1%'", true},
		{"ADDRESS_MAIL.COUNTRY IS NULL", true},
		{"ADDRESS_MAIL IS NOT NULL", true},
		// Combinations, including the documented poller query.
		{"updated_after_utc = '2018-02-21 07:31:45'", false}, // pseudo-field: pushed down, absent on records
		{"FIRST_NAME = 'Ada' AND (LAST_NAME = 'Smith' OR VISIBLE_TO = 'EVERYONE')", true},
		{"FIRST_NAME = 'Ada' AND NOT CAN_EDIT = true", false},
		{"", true},
	}
	for _, useNumber := range []bool{false, true} {
		get := pathGetter(decodeRecord(t, useNumber))
		for _, tt := range tests {
			e, err := Parse(tt.where)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.where, err)
			}
			got, err := Eval(e, get)
			if err != nil {
				t.Errorf("Eval(%q, UseNumber=%v): %v", tt.where, useNumber, err)
				continue
			}
			if got != tt.want {
				t.Errorf("Eval(%q, UseNumber=%v) = %v, want %v", tt.where, useNumber, got, tt.want)
			}
		}
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	get := pathGetter(decodeRecord(t, true))
	tests := []struct{ where, msg string }{
		{"CAN_EDIT < 1", `"<" cannot order booleans`},
		{"CAN_EDIT >= true", "cannot order booleans"},
		{"FIRST_NAME > false", "cannot order booleans"},
		{"CAN_EDIT = 1", "cannot compare a boolean with a number"},
		{"CONTACT_ID = true", "cannot compare a boolean with a number"},
		{"CAN_EDIT IN (1)", "cannot compare a boolean with a number"},
		{"ADDRESS_MAIL = 'London'", `field "ADDRESS_MAIL" holds a value of type map[string]interface {}`},
		{"ADDRESS_MAIL LIKE '%'", "not a string, number or boolean"},
		{"CUSTOMFIELDS = 'Platinum'", "not a string, number or boolean"},
		{"FIRST_NAME = 'Ada' AND CAN_EDIT < 1", "cannot order booleans"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.where)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.where, err)
		}
		got, err := Eval(e, get)
		if err == nil || got || !errors.Is(err, ErrType) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Eval(%q) = %v, %v; want ErrType containing %q", tt.where, got, err, tt.msg)
		}
	}
	// Short-circuit: an unreached erroneous term is not evaluated.
	e, _ := Parse("FIRST_NAME = 'Bob' AND CAN_EDIT < 1")
	if got, err := Eval(e, get); got || err != nil {
		t.Errorf("short-circuit AND = %v, %v", got, err)
	}
	e, _ = Parse("FIRST_NAME = 'Ada' OR CAN_EDIT < 1")
	if got, err := Eval(e, get); !got || err != nil {
		t.Errorf("short-circuit OR = %v, %v", got, err)
	}
	// A NULL field is unknown before any type check.
	e, _ = Parse("SALUTATION < true")
	if got, err := Eval(e, get); got || err != nil {
		t.Errorf("NULL < true = %v, %v", got, err)
	}
}

func TestEvalGoTypes(t *testing.T) {
	t.Parallel()
	rec := map[string]any{
		"i": 42, "i8": int8(-3), "u64": uint64(7), "f32": float32(1.5), "ss": []string{"a", "B"},
		"nested": []any{[]any{"x"}}, "nan": json.Number("NaN"), "bad": struct{}{},
	}
	get := func(f string) (any, bool) { v, ok := rec[f]; return v, ok }
	for _, tt := range []struct {
		where string
		want  bool
	}{
		{"i = 42", true}, {"i8 < 0", true}, {"u64 = '7'", true}, {"f32 = 1.5", true},
		{"ss = 'b'", true}, {"ss IN ('c')", false}, {"nan = 'nan'", true}, {"bad IS NULL", false},
	} {
		e, err := Parse(tt.where)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Eval(e, get); got != tt.want || err != nil {
			t.Errorf("Eval(%q) = %v, %v; want %v", tt.where, got, err, tt.want)
		}
	}
	for _, where := range []string{"nested = 'x'", "bad = 1"} {
		e, _ := Parse(where)
		if _, err := Eval(e, get); !errors.Is(err, ErrType) {
			t.Errorf("Eval(%q) err = %v, want ErrType", where, err)
		}
	}
}

func TestLike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"", "", true},
		{"", "a", false},
		{"%", "", true},
		{"%", "anything", true},
		{"_", "", false},
		{"_", "é", true},
		{"__", "日本", true},
		{"a%b%c", "aXbYc", true},
		{"a%b%c", "aXbY", false},
		{"%a%a%a%", "banana", true},
		{"%%%x", "yyx", true},
		{"%ab", "aab", true},
		{"a%", "A", true},
		{"ÉCOLE", "école", true},
		{`100\%`, "100%", true},
		{`100\%`, "1000", false},
		{`a\_b`, "a_b", true},
		{`a\_b`, "axb", false},
		{`a\\b`, `a\b`, true},
		{`a\`, `a\`, true},
		{"%" + strings.Repeat("a%", 30) + "b", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		if got := compileLike(tt.pat).match(tt.s); got != tt.want {
			t.Errorf("%q LIKE %q = %v, want %v", tt.s, tt.pat, got, tt.want)
		}
	}
}

func TestFoldCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "A", 0}, {"a", "b", -1}, {"B", "a", 1}, {"ab", "a", 1}, {"a", "ab", -1},
		{"Straße", "STRASSE", 1}, {"\xff", "\xfe", 1}, {"z", "\xff", -1},
	}
	for _, tt := range tests {
		if got := foldCompare(tt.a, tt.b); got != tt.want {
			t.Errorf("foldCompare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEvalNil(t *testing.T) {
	t.Parallel()
	if ok, err := Eval(nil, nil); !ok || err != nil {
		t.Errorf("Eval(nil) = %v, %v", ok, err)
	}
	if ok, err := Eval(&And{Terms: []Expr{nil}}, func(string) (any, bool) { return nil, false }); ok || err == nil {
		t.Errorf("Eval(And{nil}) = %v, %v", ok, err)
	}
}

func BenchmarkEval(b *testing.B) {
	get := pathGetter(decodeRecord(b, true))
	e, err := Parse("DATE_UPDATED_UTC > '2018-01-15T00:00:00.000Z' AND (FIRST_NAME LIKE 'a%' OR TAGS = 'VIP') AND OWNER_USER_ID IN (1, 987)")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Eval(e, get); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
