package changes_test

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/pollhook/pollhook/internal/changes"
	"github.com/pollhook/pollhook/internal/element/insightly"
)

// insightlyFields flattens an Insightly record as the poller will.
func insightlyFields(t *testing.T, raw string) changes.Fields {
	t.Helper()
	f, err := changes.Flatten(insightly.FieldsOf).Fields(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("Fields(%s): %v", raw, err)
	}
	return f
}

func TestDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after string
		want          map[string]string // field → {"before":…,"after":…}
	}{
		{"identical", `{"A": 1}`, `{"A": 1}`, map[string]string{}},
		{"reordered keys, nested too", `{"A": 1, "B": {"x": 1, "y": [1, 2]}}`, `{"B": {"y": [1, 2], "x": 1}, "A": 1}`,
			map[string]string{}},
		{"whitespace and escapes", `{"A": "a\u0062"}`, `{ "A" : "ab" }`, map[string]string{}},
		{"10 vs 10.0", `{"V": 10}`, `{"V": 10.0}`, map[string]string{}},
		{"10 vs 10.5", `{"V": 10}`, `{"V": 10.5}`, map[string]string{"V": `{"before":10,"after":10.5}`}},
		{"number vs numeric string", `{"V": 10}`, `{"V": "10"}`, map[string]string{"V": `{"before":10,"after":"10"}`}},
		{"string case matters", `{"S": "won"}`, `{"S": "WON"}`, map[string]string{"S": `{"before":"won","after":"WON"}`}},
		{"null vs absent", `{"A": 1, "N": null}`, `{"A": 1}`, map[string]string{}},
		{"absent vs null", `{"A": 1}`, `{"A": 1, "N": null}`, map[string]string{}},
		{"added", `{"A": 1}`, `{"A": 1, "B": "x"}`, map[string]string{"B": `{"before":null,"after":"x"}`}},
		{"removed", `{"A": 1, "B": "x"}`, `{"A": 1}`, map[string]string{"B": `{"before":"x","after":null}`}},
		{"to null", `{"B": "x"}`, `{"B": null}`, map[string]string{"B": `{"before":"x","after":null}`}},
		{"array element change is one change of the array",
			`{"TAGS": [{"TAG_NAME": "a"}, {"TAG_NAME": "b"}]}`, `{"TAGS": [{"TAG_NAME": "a"}, {"TAG_NAME": "c"}]}`,
			map[string]string{"TAGS": `{"before":[{"TAG_NAME":"a"},{"TAG_NAME":"b"}],"after":[{"TAG_NAME":"a"},{"TAG_NAME":"c"}]}`}},
		{"array order matters", `{"L": [1, 2]}`, `{"L": [2, 1]}`, map[string]string{"L": `{"before":[1,2],"after":[2,1]}`}},
		{"custom field change is named by the field",
			`{"ID": 1, "CUSTOMFIELDS": [{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "chess"}, {"FIELD_NAME": "Stage__c", "FIELD_VALUE": "A"}]}`,
			`{"ID": 1, "CUSTOMFIELDS": [{"FIELD_NAME": "Stage__c", "FIELD_VALUE": "A"}, {"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "go"}]}`,
			map[string]string{"Hobby__c": `{"before":"chess","after":"go"}`}},
		{"custom field emptied and omitted",
			`{"CUSTOMFIELDS": [{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "chess"}]}`, `{"CUSTOMFIELDS": []}`,
			map[string]string{"Hobby__c": `{"before":"chess","after":null}`}},
		{"several",
			`{"OPPORTUNITY_STATE": "OPEN", "DATE_UPDATED_UTC": "2024-01-01 00:00:00", "OPPORTUNITY_VALUE": 5}`,
			`{"OPPORTUNITY_STATE": "WON", "DATE_UPDATED_UTC": "2024-01-02 00:00:00", "OPPORTUNITY_VALUE": 5.00}`,
			map[string]string{
				"OPPORTUNITY_STATE": `{"before":"OPEN","after":"WON"}`,
				"DATE_UPDATED_UTC":  `{"before":"2024-01-01 00:00:00","after":"2024-01-02 00:00:00"}`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := changes.Diff(insightlyFields(t, tt.before), insightlyFields(t, tt.after))
			if d == nil {
				t.Fatal("Diff = nil, want a map")
			}
			got := map[string]string{}
			for k, c := range d {
				b, err := json.Marshal(c)
				if err != nil {
					t.Fatal(err)
				}
				got[k] = string(b)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("Diff =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// Diff canonicalises raw values itself, so flattened but not canonical
// fields (and invalid JSON) compare correctly.
func TestDiffRawValues(t *testing.T) {
	t.Parallel()
	before := map[string]json.RawMessage{"A": json.RawMessage(`{ "y": 1.0, "x": 2 }`), "B": json.RawMessage(`{bad`)}
	after := map[string]json.RawMessage{"A": json.RawMessage(`{"x":2,"y":1}`), "B": json.RawMessage(`{bad`)}
	if d := changes.Diff(before, after); len(d) != 0 {
		t.Errorf("Diff = %v, want none", d)
	}
	after["B"] = json.RawMessage(`{worse`)
	d := changes.Diff(before, after)
	if c, ok := d["B"]; !ok || string(c.Before) != `"{bad"` || string(c.After) != `"{worse"` || len(d) != 1 {
		t.Errorf("Diff = %v, want B as strings", d)
	}
	if d := changes.Diff(nil, map[string]json.RawMessage{"A": json.RawMessage(`1`)}); string(d["A"].Before) != "null" {
		t.Errorf("Diff from nil = %v", d)
	}
}
