package changes_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/changes"
	"github.com/pollhook/pollhook/internal/element/ceql"
)

func diffOf(fields ...string) map[string]changes.Change {
	d := map[string]changes.Change{}
	for _, f := range fields {
		d[f] = changes.Change{Before: json.RawMessage(`1`), After: json.RawMessage(`2`)}
	}
	return d
}

func TestReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		fields, ignore []string
		diff           map[string]changes.Change
		want           bool
	}{
		{"no rules, a change", nil, nil, diffOf("A"), true},
		{"no rules, empty diff: reported as today", nil, nil, diffOf(), true},
		{"no rules, nil diff", nil, nil, nil, true},

		{"fields: one of them changed", []string{"OPPORTUNITY_STATE", "B"}, nil, diffOf("OPPORTUNITY_STATE", "X"), true},
		{"fields: none of them changed", []string{"OPPORTUNITY_STATE"}, nil, diffOf("DATE_UPDATED_UTC"), false},
		{"fields: empty diff", []string{"A"}, nil, diffOf(), false},
		{"fields: native names are exact", []string{"opportunity_state"}, nil, diffOf("OPPORTUNITY_STATE"), false},
		{"fields: custom field", []string{"Stage__c"}, nil, diffOf("Stage__c"), true},
		{"fields: custom field in any case", []string{"stage__C"}, nil, diffOf("Stage__c"), true},
		{"fields: other custom field", []string{"Stage__c"}, nil, diffOf("Hobby__c"), false},

		{"ignore: only DATE_UPDATED_UTC changed", nil, []string{"DATE_UPDATED_UTC"}, diffOf("DATE_UPDATED_UTC"), false},
		{"ignore: another field changed too", nil, []string{"DATE_UPDATED_UTC"}, diffOf("DATE_UPDATED_UTC", "TITLE"), true},
		{"ignore: all changes ignored", nil, []string{"DATE_UPDATED_UTC", "Hobby__c"}, diffOf("DATE_UPDATED_UTC", "HOBBY__C"), false},
		{"ignore: empty diff", nil, []string{"DATE_UPDATED_UTC"}, diffOf(), false},
		{"ignore: native names are exact", nil, []string{"date_updated_utc"}, diffOf("DATE_UPDATED_UTC"), true},

		{"both: trigger changed, plus an unignored field", []string{"Stage__c"}, []string{"DATE_UPDATED_UTC"},
			diffOf("Stage__c", "DATE_UPDATED_UTC"), true},
		{"both: trigger field not changed", []string{"Stage__c"}, []string{"DATE_UPDATED_UTC"},
			diffOf("TITLE", "DATE_UPDATED_UTC"), false},
		{"both: only ignored field changed", []string{"Stage__c"}, []string{"DATE_UPDATED_UTC"},
			diffOf("DATE_UPDATED_UTC"), false},
		{"both: trigger field is also ignored", []string{"Stage__c"}, []string{"Stage__c"}, diffOf("Stage__c"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := changes.Rules{Fields: tt.fields, IgnoreFields: tt.ignore}
			if got := r.Reports(tt.diff); got != tt.want {
				t.Errorf("Reports(%v) = %v, want %v", tt.diff, got, tt.want)
			}
		})
	}
}

func TestFilterReports(t *testing.T) {
	t.Parallel()
	yes, no := new(bool), new(bool)
	*yes = true
	filter, err := changes.Compile("A = 1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind          string
		matchedBefore *bool
		matchesNow    bool
		want          bool
	}{
		{changes.Created, nil, true, true},
		{changes.Created, nil, false, false},

		{changes.Updated, nil, true, true},
		{changes.Updated, nil, false, false},
		{changes.Updated, yes, true, true},  // still matches
		{changes.Updated, no, true, true},   // starts matching
		{changes.Updated, yes, false, true}, // stops matching: once
		{changes.Updated, no, false, false}, // never matched

		{changes.Deleted, nil, false, true},
		{changes.Deleted, nil, true, true},
		{changes.Deleted, yes, false, true},
		{changes.Deleted, no, false, false},
		{changes.Deleted, no, true, false}, // matchesNow is ignored

		{"SOMETHING", no, false, true},
	}
	for _, tt := range tests {
		before := "unknown"
		if tt.matchedBefore != nil {
			before = map[bool]string{true: "matched", false: "did not match"}[*tt.matchedBefore]
		}
		r := changes.Rules{Filter: filter}
		if got := r.FilterReports(tt.kind, tt.matchedBefore, tt.matchesNow); got != tt.want {
			t.Errorf("%s, before %s, now %v: FilterReports = %v, want %v", tt.kind, before, tt.matchesNow, got, tt.want)
		}
		if !(changes.Rules{}).FilterReports(tt.kind, tt.matchedBefore, tt.matchesNow) {
			t.Errorf("%s, before %s, now %v: without a filter: false, want true", tt.kind, before, tt.matchesNow)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	rec := insightlyFields(t, `{
		"OPPORTUNITY_ID": 9007199254740993,
		"OPPORTUNITY_STATE": "WON",
		"OPPORTUNITY_VALUE": 25000.50,
		"PROBABILITY": null,
		"BID_CURRENCY": "EUR",
		"IS_OPEN": false,
		"TAGS": [{"TAG_NAME": "vip"}],
		"LINKS": [{"LINK_ID": 5, "OBJECT_NAME": "Contact"}],
		"CUSTOMFIELDS": [{"FIELD_NAME": "Stage__c", "FIELD_VALUE": "Negotiation"}, {"FIELD_NAME": "Score__c", "FIELD_VALUE": 7}]
	}`)
	tests := []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"OPPORTUNITY_STATE = 'WON' and OPPORTUNITY_VALUE > 10000", true},
		{"OPPORTUNITY_STATE = 'WON' and OPPORTUNITY_VALUE > 30000", false},
		{"OPPORTUNITY_STATE = 'LOST' or OPPORTUNITY_VALUE >= 25000.5", true},
		{"OPPORTUNITY_STATE = 'won'", true}, // CEQL strings compare case-insensitively
		{"OPPORTUNITY_STATE != 'WON'", false},
		{"OPPORTUNITY_VALUE = '25000.5'", true},
		{"OPPORTUNITY_ID = 9007199254740993", true},
		{"BID_CURRENCY IN ('USD', 'EUR')", true},
		{"BID_CURRENCY LIKE 'E%'", true},
		{"NOT (BID_CURRENCY = 'USD')", true},
		{"IS_OPEN = false", true},
		{"PROBABILITY IS NULL", true},
		{"MISSING IS NULL", true},
		{"MISSING = 1", false},
		{"NOT MISSING = 1", false}, // unknown stays unknown
		{"Stage__c = 'Negotiation'", true},
		{"stage__C = 'negotiation'", true}, // custom names in any case
		{"Score__c > 5 and Stage__c LIKE 'Neg%'", true},
		{"Score__c > 7", false},
		{"opportunity_state = 'WON'", false}, // native names are exact
		{"CUSTOMFIELDS IS NULL", true},       // not a field
		{"LINKS.0.LINK_ID = 5", true},
		{"LINKS.0.OBJECT_NAME = 'Contact' and LINKS.1.LINK_ID IS NULL", true},
		{"TAGS.0.TAG_NAME = 'vip'", true},
	}
	for _, tt := range tests {
		e, err := changes.Compile(tt.filter)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.filter, err)
		}
		got, err := changes.Rules{Filter: e}.Match(rec)
		if err != nil || got != tt.want {
			t.Errorf("Match(%q) = %v, %v; want %v", tt.filter, got, err, tt.want)
		}
	}

	// Type errors are ceql's.
	e, _ := changes.Compile("IS_OPEN < 3")
	if _, err := (changes.Rules{Filter: e}).Match(rec); !errors.Is(err, ceql.ErrType) {
		t.Errorf("Match(IS_OPEN < 3) error = %v, want ceql.ErrType", err)
	}
	e, _ = changes.Compile("TAGS = 'x'")
	if _, err := (changes.Rules{Filter: e}).Match(rec); !errors.Is(err, ceql.ErrType) {
		t.Errorf("Match(TAGS = 'x') error = %v, want ceql.ErrType", err)
	}
	// Invalid JSON in a field is an error, not a silent mismatch.
	e, _ = changes.Compile("A = 1")
	if _, err := (changes.Rules{Filter: e}).Match(map[string]json.RawMessage{"A": json.RawMessage(`{`)}); err == nil {
		t.Error("Match on invalid JSON: want an error")
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		pos    int
	}{
		{"OPPORTUNITY_STATE = ", 20},
		{"OPPORTUNITY_STATE = 'WON' and", 29},
		{"OPPORTUNITY_STATE = 'WON' OPPORTUNITY_VALUE > 1", 26},
		{"A = 'unterminated", 4},
		{"(A = 1", 0},
		{"A == 1", 2},
	}
	for _, tt := range tests {
		e, err := changes.Compile(tt.filter)
		var ce *ceql.Error
		if !errors.As(err, &ce) {
			t.Errorf("Compile(%q) = %v, %v; want a *ceql.Error", tt.filter, e, err)
			continue
		}
		if ce.Pos != tt.pos {
			t.Errorf("Compile(%q): offset %d, want %d (%v)", tt.filter, ce.Pos, tt.pos, err)
		}
		if !strings.Contains(err.Error(), "filter") || !strings.Contains(err.Error(), "at offset") {
			t.Errorf("Compile(%q) error %q does not say filter and offset", tt.filter, err)
		}
	}
	for _, blank := range []string{"", "   "} {
		if e, err := changes.Compile(blank); e != nil || err != nil {
			t.Errorf("Compile(%q) = %v, %v; want nil, nil", blank, e, err)
		}
	}
}
