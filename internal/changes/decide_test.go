package changes_test

import (
	"testing"

	"github.com/pollhook/pollhook/internal/changes"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	const (
		open    = `{"OPPORTUNITY_STATE": "OPEN", "OPPORTUNITY_VALUE": 20000, "DATE_UPDATED_UTC": "2024-01-01 00:00:00"}`
		bumped  = `{"OPPORTUNITY_STATE": "OPEN", "OPPORTUNITY_VALUE": 20000, "DATE_UPDATED_UTC": "2024-01-02 00:00:00"}`
		won     = `{"OPPORTUNITY_STATE": "WON", "OPPORTUNITY_VALUE": 20000, "DATE_UPDATED_UTC": "2024-01-03 00:00:00"}`
		wonLess = `{"OPPORTUNITY_STATE": "WON", "OPPORTUNITY_VALUE": 5000, "DATE_UPDATED_UTC": "2024-01-04 00:00:00"}`
	)
	filter, err := changes.Compile("OPPORTUNITY_STATE = 'WON' and OPPORTUNITY_VALUE > 10000")
	if err != nil {
		t.Fatal(err)
	}
	ignore := changes.Rules{IgnoreFields: []string{"DATE_UPDATED_UTC"}, Filter: filter}
	tests := []struct {
		name          string
		rules         changes.Rules
		kind          string
		before, after string // "" for unknown / none
		want          bool
		wantChanged   int // len(diff); -1 for a nil diff
	}{
		{"no rules", changes.Rules{}, changes.Updated, open, bumped, true, 1},
		{"no rules, unknown before", changes.Rules{}, changes.Updated, "", bumped, true, -1},
		{"ignored bump", ignore, changes.Updated, open, bumped, false, 1},
		{"starts matching", ignore, changes.Updated, bumped, won, true, 2},
		{"stops matching", ignore, changes.Updated, won, wonLess, true, 2},
		{"never matches", changes.Rules{Filter: filter}, changes.Updated, open, bumped, false, 1},
		{"created matching", ignore, changes.Created, "", won, true, -1},
		{"created not matching", ignore, changes.Created, "", open, false, -1},
		{"deleted, matched", ignore, changes.Deleted, won, "", true, -1},
		{"deleted, did not match", ignore, changes.Deleted, open, "", false, -1},
		{"deleted, unknown", ignore, changes.Deleted, "", "", true, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var before, after changes.Fields
			if tt.before != "" {
				before = insightlyFields(t, tt.before)
			}
			if tt.after != "" {
				after = insightlyFields(t, tt.after)
			}
			got, diff, err := tt.rules.Decide(tt.kind, before, after)
			if err != nil {
				t.Fatal(err)
			}
			n := len(diff)
			if diff == nil {
				n = -1
			}
			if got != tt.want || n != tt.wantChanged {
				t.Errorf("Decide = %v with %d changes (%v), want %v with %d", got, n, diff, tt.want, tt.wantChanged)
			}
		})
	}
}
