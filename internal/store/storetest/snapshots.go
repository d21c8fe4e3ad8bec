package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// A record's last observed version rides on its per-record state,
// compressed, and comes back byte for byte; an event's field diff comes
// back with it; a state written without one keeps none.
func testSnapshots(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	in := newInstance(o, u, "Alpha")
	if err := s.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		_, _, err := tx.SyncPolls(ctx, in.ID, []string{"opportunities"}, time.Minute, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	record := []byte(`{"OPPORTUNITY_ID":7,"OPPORTUNITY_STATE":"OPEN","OPPORTUNITY_NAME":"` + strings.Repeat("Big deal ", 40) +
		`","CUSTOMFIELDS":[{"FIELD_NAME":"Stage__c","FIELD_VALUE":"Qualified"}],"TAGS":[]}`)
	diff := json.RawMessage(`{"OPPORTUNITY_STATE":{"before":"OPEN","after":"WON"}}`)
	ev := &store.Event{ID: "ev-diff", OrgID: o.ID, InstanceID: in.ID, Resource: "opportunities", ObjectID: "7", Type: "UPDATED",
		Date: now, PollDate: now, Status: "NEW", ProviderData: string(record), ChangedFields: diff}
	res := &store.RunResult{InstanceID: in.ID, Resource: "opportunities", Events: []*store.Event{ev}, RunAt: now,
		Window: &store.Window{From: now, Start: now, RunAt: now},
		Seen: map[string]store.Seen{
			"7": {Updated: now, Hash: []byte{1}, Snapshot: record},
			"8": {Updated: now, Hash: []byte{2}},
		}}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.CommitRun(ctx, res) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.SeenFor(ctx, in.ID, "opportunities", []string{"7", "8"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got["7"].Snapshot, record) || got["8"].Snapshot != nil {
		t.Errorf("snapshots back: %q and %q", got["7"].Snapshot, got["8"].Snapshot)
	}
	var stored int
	if err := s.DB().QueryRowContext(ctx, `SELECT LENGTH(snapshot) FROM seen WHERE object_id = '7'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored <= 0 || stored >= len(record)/2 {
		t.Errorf("a %d-byte record is stored in %d bytes: not compressed", len(record), stored)
	}
	e, err := s.EventByID(ctx, o.ID, "ev-diff")
	if err != nil || string(e.ChangedFields) != string(diff) {
		t.Errorf("the event's diff back: %s %v", e.ChangedFields, err)
	}
	// A later state without a snapshot drops it (the resource stopped
	// keeping them).
	res = &store.RunResult{InstanceID: in.ID, Resource: "opportunities", RunAt: now, Window: &store.Window{From: now, Start: now, RunAt: now},
		Seen: map[string]store.Seen{"7": {Updated: now.Add(time.Minute), Hash: []byte{3}}}}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.CommitRun(ctx, res) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SeenFor(ctx, in.ID, "opportunities", []string{"7"}); got["7"].Snapshot != nil {
		t.Errorf("a state written without a snapshot kept %q", got["7"].Snapshot)
	}
}
