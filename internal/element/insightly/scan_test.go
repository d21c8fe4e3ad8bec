package insightly

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/element"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

func ids(t *testing.T, recs []map[string]any, pk string) []int64 {
	t.Helper()
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r[pk].(int64)
	}
	return out
}

// Records deleted between page reads must not make Scan skip anything that
// existed for the whole scan, and nothing is yielded twice.
func TestScanSurvivesDeletesBetweenPages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		deletes       int // pages after which a record below the offset vanishes
		pageSize      int
		wantStepBacks bool
		overlap       int
	}{
		{"no faults", 0, 500, false, 0},
		{"a delete after every page", 100, 500, false, 0},
		{"small pages", 100, 37, false, 0},
		{"no overlap margin", 100, 100, true, 1}, // overlap 1 absorbs nothing: Scan steps back
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sim.Config{Records: 1234, Seed: 9})
			before, _ := b.sim.Records(b.sim.APIKey(), "Contacts")
			b.sim.SetFaults(sim.Faults{DeleteBetweenPages: map[string]int{"Contacts": tc.deletes}})

			var got []int64
			res, err := c.Scan(context.Background(), "Contacts", "CONTACT_ID", Query{},
				ScanOptions{PageSize: tc.pageSize, Overlap: tc.overlap}, func(r *element.Record) error {
					id, _ := r.ID("CONTACT_ID")
					got = append(got, id)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			after, _ := b.sim.Records(b.sim.APIKey(), "Contacts")
			if tc.deletes > 0 && len(after) >= len(before) {
				t.Fatal("the fault deleted nothing")
			}
			if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Fatal("IDs not strictly ascending: something was yielded twice or out of order")
			}
			for _, id := range ids(t, after, "CONTACT_ID") {
				if _, found := slices.BinarySearch(got, id); !found {
					t.Fatalf("record %d existed throughout and was skipped (%d pages, %d step-backs)", id, res.Pages, res.StepBacks)
				}
			}
			if !res.Done || res.Records != len(got) || res.Date.IsZero() {
				t.Errorf("result %+v", res)
			}
			if tc.wantStepBacks != (res.StepBacks > 0) {
				t.Errorf("step-backs %d, want some: %v", res.StepBacks, tc.wantStepBacks)
			}
		})
	}
}

func TestScanStopAndResume(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{Records: 300})
	truth, _ := b.sim.Records(b.sim.APIKey(), "Organisations")
	ctx := context.Background()
	var got []int64
	collect := func(limit int) func(*element.Record) error {
		return func(r *element.Record) error {
			if len(got) == limit {
				return ErrStopScan
			}
			id, _ := r.ID("ORGANISATION_ID")
			got = append(got, id)
			return nil
		}
	}
	res, err := c.Scan(ctx, "Organisations", "ORGANISATION_ID", Query{}, ScanOptions{PageSize: 50}, collect(120))
	if err != nil || res.Done || len(got) != 120 {
		t.Fatalf("stopped scan: %+v %v, %d records", res, err, len(got))
	}
	res, err = c.Scan(ctx, "Organisations", "ORGANISATION_ID", Query{}, ScanOptions{PageSize: 50, Skip: res.Skip, After: res.After}, collect(-1))
	if err != nil || !res.Done {
		t.Fatalf("resumed scan: %+v %v", res, err)
	}
	if !slices.Equal(got, ids(t, truth, "ORGANISATION_ID")) {
		t.Errorf("stop and resume read %d records, want all %d in order", len(got), len(truth))
	}
}

func TestScanGivesUpWhenPagingNeverSettles(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{Records: 400})
	b.sim.SetFaults(sim.Faults{DeleteBetweenPages: map[string]int{"Contacts": 1000}})
	_, err := c.Scan(context.Background(), "Contacts", "CONTACT_ID", Query{},
		ScanOptions{PageSize: 10, Overlap: 1, MaxStepBacks: 3}, func(*element.Record) error { return nil })
	if !errors.Is(err, ErrUnstablePaging) {
		t.Errorf("err = %v, want ErrUnstablePaging", err)
	}
}

// An upstream whose results never end (here: more than the bound) stops
// the scan at MaxPages with an error that says so, not silently.
func TestScanStopsAtMaxPages(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{Records: 100, Seed: 3})
	before := b.sent.n.Load()
	n := 0
	res, err := c.Scan(context.Background(), "Organisations", "ORGANISATION_ID", Query{}, ScanOptions{PageSize: 10, MaxPages: 3},
		func(*element.Record) error { n++; return nil })
	if !errors.Is(err, element.ErrTooManyPages) || !strings.Contains(err.Error(), "3 pages") || res.Done {
		t.Fatalf("%+v %v", res, err)
	}
	if requests := b.sent.n.Load() - before; requests != 3 || res.Pages != 3 {
		t.Errorf("%d requests, %d pages; want 3", requests, res.Pages)
	}
	if hubError(err).(*element.Error).Status != 502 {
		t.Errorf("hub status %v", hubError(err))
	}
}
