package changes_test

import (
	"encoding/json"
	"testing"

	"github.com/pollhook/pollhook/internal/changes"
)

func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`10`, `10`},
		{`10.0`, `10`},
		{`1e1`, `10`},
		{`1E+1`, `10`},
		{`100e-1`, `10`},
		{`-0`, `0`},
		{`-0.0e5`, `0`},
		{`0.50`, `0.5`},
		{`-12.340`, `-12.34`},
		{`0.000001`, `0.000001`},
		{`1e-7`, `1e-7`},
		{`123456789012345678901`, `123456789012345678901`},
		{`1e21`, `1e21`},
		{`1.5e30`, `1.5e30`},
		{`9007199254740993`, `9007199254740993`}, // exact beyond float64
		{`1e99999999999999999999`, `1e99999999999999999999`},
		{` {"b": 1, "a": [1.0, "x"]} `, `{"a":[1,"x"],"b":1}`},
		{`"a\u0041\/"`, `"aA/"`},
		{`"Abc"`, `"Abc"`},
		{`null`, `null`},
		{``, `null`},
		{`true`, `true`},
	}
	for _, tt := range tests {
		got, err := changes.Canonical(json.RawMessage(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("Canonical(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`{`, `1 2`, `{"a":1}x`, `nul`} {
		if got, err := changes.Canonical(json.RawMessage(bad)); err == nil {
			t.Errorf("Canonical(%s) = %s, want an error", bad, got)
		}
	}
}

func TestFlattenFields(t *testing.T) {
	t.Parallel()
	f, err := changes.Flatten(changes.TopLevel).Fields(json.RawMessage(`{"A": 1.0, "B": {"y": 2, "x": 1}, "C": null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": `1`, "B": `{"x":1,"y":2}`, "C": `null`}
	if len(f) != len(want) {
		t.Fatalf("Fields = %v", f)
	}
	for k, v := range want {
		if string(f[k]) != v {
			t.Errorf("%s = %s, want %s", k, f[k], v)
		}
	}
	if _, err := changes.Flatten(changes.TopLevel).Fields(json.RawMessage(`[1]`)); err == nil {
		t.Error("TopLevel of an array: want an error")
	}
	if _, err := changes.Flatten(changes.TopLevel).Fields(json.RawMessage(`null`)); err == nil {
		t.Error("TopLevel of null: want an error")
	}
}
