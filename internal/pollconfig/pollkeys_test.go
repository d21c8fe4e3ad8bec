package pollconfig_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/pollconfig"
)

// TestSnapshotKeysValid covers snapshots, fields, ignoreFields and filter
// as accepted, their defaults, and their round trip through MarshalJSON.
func TestSnapshotKeysValid(t *testing.T) {
	t.Parallel()
	hourly := pollconfig.Deletes{Enabled: true, Interval: pollconfig.DefaultDeleteInterval, MaxMissingRatio: pollconfig.DefaultMaxMissingRatio}
	tests := []struct {
		extra string
		check func(r *pollconfig.Resource) bool
		// stored is a substring of the canonical form, when given.
		stored string
	}{
		{``, func(r *pollconfig.Resource) bool {
			return !r.Snapshots && r.Fields == nil && r.IgnoreFields == nil && r.Filter == "" && !r.Deletes.Enabled
		}, ""},
		{`"snapshots": false`, func(r *pollconfig.Resource) bool { return !r.Snapshots && !r.Deletes.Enabled }, ""},
		{`"snapshots": null`, func(r *pollconfig.Resource) bool { return !r.Snapshots }, ""},
		// snapshots turns delete detection on, hourly, when deletes is absent.
		{`"snapshots": true`, func(r *pollconfig.Resource) bool { return r.Snapshots && r.Deletes == hourly }, `"snapshots":true`},
		{`"snapshots": "TRUE", "deletes": null`, func(r *pollconfig.Resource) bool { return r.Snapshots && r.Deletes == hourly }, ""},
		{`"snapshots": true, "deletes": {}`, func(r *pollconfig.Resource) bool { return r.Deletes == hourly }, ""},
		{`"snapshots": true, "deletes": {"enabled": true, "scanEveryMinutes": 15}`, func(r *pollconfig.Resource) bool {
			return r.Deletes == pollconfig.Deletes{Enabled: true, Interval: 15 * time.Minute, MaxMissingRatio: 0.2}
		}, `"deletes":{"scanEveryMinutes":15}`},
		{`"snapshots": true, "fields": ["OPPORTUNITY_STATE", "Stage__c"]`, func(r *pollconfig.Resource) bool {
			return slices.Equal(r.Fields, []string{"OPPORTUNITY_STATE", "Stage__c"})
		}, `"fields":["OPPORTUNITY_STATE","Stage__c"]`},
		{`"snapshots": true, "ignoreFields": ["DATE_UPDATED_UTC"]`, func(r *pollconfig.Resource) bool {
			return slices.Equal(r.IgnoreFields, []string{"DATE_UPDATED_UTC"})
		}, `"ignoreFields":["DATE_UPDATED_UTC"]`},
		{`"snapshots": true, "fields": ["A"], "ignoreFields": ["B"]`, func(r *pollconfig.Resource) bool {
			return len(r.Fields) == 1 && len(r.IgnoreFields) == 1
		}, ""},
		// Empty lists are the same as absent ones, and need no snapshots.
		{`"fields": [], "ignoreFields": []`, func(r *pollconfig.Resource) bool { return r.Fields == nil && r.IgnoreFields == nil }, ""},
		{`"fields": null`, func(r *pollconfig.Resource) bool { return r.Fields == nil }, ""},
		// filter works without snapshots.
		{`"filter": "OPPORTUNITY_STATE = 'WON' AND AMOUNT > 1000"`, func(r *pollconfig.Resource) bool {
			return r.Filter == "OPPORTUNITY_STATE = 'WON' AND AMOUNT > 1000" && !r.Snapshots
		}, `"filter":"OPPORTUNITY_STATE = 'WON' AND AMOUNT > 1000"`},
		{`"filter": ""`, func(r *pollconfig.Resource) bool { return r.Filter == "" }, ""},
		{`"filter": "` + strings.Repeat("a", pollconfig.MaxFilterLength-4) + ` = 1"`, nil, ""},
		{`"snapshots": true, "fields": [` + names(pollconfig.MaxFieldNames) + `]`,
			func(r *pollconfig.Resource) bool { return len(r.Fields) == pollconfig.MaxFieldNames }, ""},
	}
	for _, tt := range tests {
		in := withKeys(tt.extra)
		for _, v := range []json.RawMessage{in, asString(t, in)} {
			c, err := pollconfig.Parse(v, nil)
			if err != nil {
				t.Errorf("%s: %v", clipTest(tt.extra), err)
				continue
			}
			r := c.Resources["contacts"]
			if tt.check != nil && !tt.check(r) {
				t.Errorf("%s: got %+v", clipTest(tt.extra), r)
			}
			roundTrip(t, c)
			b, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if tt.stored != "" && !strings.Contains(string(b), tt.stored) {
				t.Errorf("%s: stored form %s lacks %s", clipTest(tt.extra), b, tt.stored)
			}
			cr, err := r.Compile()
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if (cr.Filter == nil) != (r.Filter == "") {
				t.Errorf("%s: Compiled.Filter = %v for filter %q", clipTest(tt.extra), cr.Filter, r.Filter)
			}
		}
	}
}

// TestSnapshotsStoredForm pins the canonical form: the deletes object that
// snapshots implies is not written, and an explicit one is kept.
func TestSnapshotsStoredForm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ extra, want, notWant string }{
		{`"snapshots": true`, `"snapshots":true`, `"deletes"`},
		{`"snapshots": true, "deletes": {}`, `"snapshots":true`, `"deletes"`},
		{`"deletes": {}`, `"deletes":{}`, `"snapshots"`},
		{`"filter": "A = 1"`, `"filter":"A = 1"`, `"snapshots"`},
	} {
		c, err := pollconfig.Parse(withKeys(tt.extra), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.extra, err)
		}
		b, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tt.want) || strings.Contains(string(b), tt.notWant) {
			t.Errorf("%s: stored %s, want %s and no %s", tt.extra, b, tt.want, tt.notWant)
		}
	}
}

func TestSnapshotKeysInvalid(t *testing.T) {
	t.Parallel()
	const p = "event.poller.configuration.contacts"
	tests := []struct {
		extra, field, msg string
	}{
		// Misspellings suggest the new keys.
		{`"ignoreField": ["A"]`, p + ".ignoreField", `did you mean "ignoreFields"?`},
		{`"snapshot": true`, p + ".snapshot", `did you mean "snapshots"?`},
		{`"field": ["A"]`, p + ".field", `did you mean "fields"?`},
		{`"filters": "A = 1"`, p + ".filters", `did you mean "filter"?`},

		// snapshots.
		{`"snapshots": "yes"`, p + ".snapshots", `must be true or false, found string "yes"`},
		{`"snapshots": true, "deletes": {"enabled": false}`, p + ".deletes.enabled", `"snapshots": true needs delete detection`},
		{`"snapshots": "true", "deletes": {"enabled": "false", "scanEveryMinutes": 5}`, p + ".deletes.enabled", "needs delete detection"},

		// fields and ignoreFields need snapshots.
		{`"fields": ["A"]`, p + ".fields", `needs "snapshots": true`},
		{`"snapshots": false, "ignoreFields": ["A"]`, p + ".ignoreFields", `needs "snapshots": true`},
		// Types.
		{`"snapshots": true, "fields": "A"`, p + ".fields", `must be an array of field names, found string "A"`},
		{`"snapshots": true, "fields": {}`, p + ".fields", "must be an array of field names, found object"},
		{`"snapshots": true, "ignoreFields": ["A", 5]`, p + ".ignoreFields", "item 2 must be a string (a field name), found number 5"},
		{`"snapshots": true, "ignoreFields": [null]`, p + ".ignoreFields", "item 1 must be a string"},
		// Names.
		{`"snapshots": true, "fields": ["A", ""]`, p + ".fields", "item 2 is empty"},
		{`"snapshots": true, "fields": ["  "]`, p + ".fields", "item 1 is empty"},
		{`"snapshots": true, "fields": ["A", "B", "A"]`, p + ".fields", `names "A" twice`},
		{`"snapshots": true, "ignoreFields": ["X", "X"]`, p + ".ignoreFields", `names "X" twice`},
		{`"snapshots": true, "fields": ["` + strings.Repeat("a", 201) + `"]`, p + ".fields", "item 1 is 201 bytes long; at most 200"},
		{`"snapshots": true, "fields": [` + names(pollconfig.MaxFieldNames+1) + `]`, p + ".fields", "has 101 names; at most 100"},
		{`"snapshots": true, "ignoreFields": [` + names(pollconfig.MaxFieldNames+1) + `]`, p + ".ignoreFields", "at most 100"},
		// A contradiction is reported on the second list.
		{`"snapshots": true, "fields": ["A", "B"], "ignoreFields": ["C", "B"]`, p + ".ignoreFields",
			`names "B", which is also in fields; a field cannot be both reported and ignored`},

		// filter.
		{`"filter": 5`, p + ".filter", "must be a string, found number 5"},
		{`"filter": ["A = 1"]`, p + ".filter", "must be a string, found array"},
		{`"filter": "OPPORTUNITY_STATE = 'WON' AND"`, p + ".filter", "at position 29: expected a field name"},
		{`"filter": "A = 1 B"`, p + ".filter", `at position 6: expected AND or OR, found`},
		{`"filter": "STAGE = 'open"`, p + ".filter", "at position 8: "},
		{`"filter": "   "`, p + ".filter", "is blank"},
		{`"filter": "` + strings.Repeat("a", pollconfig.MaxFilterLength) + ` = 1"`, p + ".filter", "is 2004 bytes long; at most 2000"},
	}
	for _, tt := range tests {
		in := withKeys(tt.extra)
		for _, v := range []json.RawMessage{in, asString(t, in)} {
			_, err := pollconfig.Parse(v, nil)
			t.Run(clipTest(tt.extra), func(t *testing.T) { checkError(t, err, tt.field, tt.msg) })
		}
	}
}

// TestSnapshotKeysAllErrors checks that every problem of the new keys is
// reported, in key order, not only the first.
func TestSnapshotKeysAllErrors(t *testing.T) {
	t.Parallel()
	const p = "event.poller.configuration.contacts"
	_, err := pollconfig.Parse(withKeys(`"deletes": {"enabled": false}, "snapshots": true, "fields": ["A", "A"], "ignoreFields": ["A"], "filter": "A ="`), nil)
	var es pollconfig.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error = %v (%T), want Errors", err, err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Field)
	}
	want := []string{p + ".deletes.enabled", p + ".fields", p + ".ignoreFields", p + ".filter"}
	if !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q\n%v", got, want, es)
	}

	// Without snapshots, both lists say so on their own paths.
	_, err = pollconfig.Parse(withKeys(`"fields": ["A"], "ignoreFields": ["B"]`), nil)
	if !errors.As(err, &es) || len(es) != 2 || es[0].Field != p+".fields" || es[1].Field != p+".ignoreFields" {
		t.Errorf("error = %v, want one on fields and one on ignoreFields", err)
	}
}

// TestSnapshotKeysCompile checks Compile on a Resource built in code: the
// checks live there, not only in Parse.
func TestSnapshotKeysCompile(t *testing.T) {
	t.Parallel()
	c, err := pollconfig.Parse(withKeys(`"snapshots": true, "fields": ["A"], "filter": "A = 'x'"`), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Resources["contacts"]
	cr, err := r.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if cr.Filter == nil || cr.Filter.String() != "A = 'x'" || !slices.Equal(cr.Config.Fields, []string{"A"}) {
		t.Errorf("compiled = %+v (filter %v)", cr.Config, cr.Filter)
	}
	cr.Config.Fields[0] = "changed"
	if r.Fields[0] != "A" {
		t.Error("Compiled.Config shares Fields with the resource")
	}
	bad := *r
	bad.Snapshots = false
	if _, err := bad.Compile(); err == nil || !strings.Contains(err.Error(), `needs "snapshots": true`) {
		t.Errorf("Compile without snapshots = %v", err)
	}
}

// names returns n distinct quoted field names, comma-separated.
func names(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%q", fmt.Sprintf("F%d", i))
	}
	return strings.Join(s, ", ")
}

func clipTest(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// TestDocsExample parses the example of docs/polling.md's section on
// snapshots, fields, ignoreFields and filter.
func TestDocsExample(t *testing.T) {
	t.Parallel()
	c, err := pollconfig.Parse(withKeys(`"snapshots": true, "fields": ["OPPORTUNITY_STATE", "Stage__c"],
		"filter": "PIPELINE_ID = 12 AND OPPORTUNITY_STATE <> 'ABANDONED'"`), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Resources["contacts"]
	if !r.Snapshots || !r.Deletes.Enabled || len(r.Fields) != 2 || r.Filter == "" {
		t.Errorf("got %+v", r)
	}
}
