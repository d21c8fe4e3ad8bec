package insightly

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestFieldsOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want map[string]string // field → JSON as sent
	}{
		{"native only", `{"OPPORTUNITY_ID": 7, "OPPORTUNITY_STATE": "OPEN"}`,
			map[string]string{"OPPORTUNITY_ID": `7`, "OPPORTUNITY_STATE": `"OPEN"`}},
		{"arrays are one value", `{"TAGS": [{"TAG_NAME": "vip"}], "LINKS": []}`,
			map[string]string{"TAGS": `[{"TAG_NAME": "vip"}]`, "LINKS": `[]`}},
		{"custom fields by bare name", `{"ID": 1, "CUSTOMFIELDS": [
			{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "chess"},
			{"FIELD_NAME": "Stage__c", "FIELD_VALUE": {"a": 1}},
			{"FIELD_NAME": "Empty__c"},
			{"FIELD_NAME": "Null__c", "FIELD_VALUE": null}]}`,
			map[string]string{"ID": `1`, "Hobby__c": `"chess"`, "Stage__c": `{"a": 1}`, "Empty__c": `null`, "Null__c": `null`}},
		{"null CUSTOMFIELDS", `{"ID": 1, "CUSTOMFIELDS": null}`, map[string]string{"ID": `1`}},
		{"empty CUSTOMFIELDS", `{"ID": 1, "CUSTOMFIELDS": []}`, map[string]string{"ID": `1`}},
		{"first of names differing in case wins", `{"CUSTOMFIELDS": [
			{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": 1}, {"FIELD_NAME": "HOBBY__C", "FIELD_VALUE": 2}]}`,
			map[string]string{"Hobby__c": `1`}},
		{"native key wins", `{"X__c": "native", "CUSTOMFIELDS": [{"FIELD_NAME": "X__c", "FIELD_VALUE": "custom"}]}`,
			map[string]string{"X__c": `"native"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FieldsOf(json.RawMessage(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if !maps.Equal(gotS, tt.want) {
				t.Errorf("FieldsOf = %v\nwant %v", gotS, tt.want)
			}
		})
	}
}

func TestFieldsOfErrors(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		``, `null`, `[]`, `"x"`, `{`,
		`{"CUSTOMFIELDS": {}}`,
		`{"CUSTOMFIELDS": "x"}`,
		`{"CUSTOMFIELDS": [1]}`,
		`{"CUSTOMFIELDS": [null]}`,
		`{"CUSTOMFIELDS": [{"FIELD_VALUE": 1}]}`,
		`{"CUSTOMFIELDS": [{"FIELD_NAME": 3}]}`,
		`{"CUSTOMFIELDS": [{"FIELD_NAME": ""}]}`,
	} {
		if got, err := FieldsOf(json.RawMessage(raw)); err == nil {
			t.Errorf("FieldsOf(%s) = %v, want an error", raw, got)
		}
	}
}
