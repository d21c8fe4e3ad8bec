package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// AccountPolls finds the polls of every instance using an account, in
// every organization, with their poller configuration and known IDs; not
// those of other accounts, of disabled or invalid instances (they call
// nothing until changed) or with events off.
func testAccountPolls(t *testing.T, s *store.Store) {
	ctx := context.Background()
	const key = "event.poller.configuration"
	o, u := seed(t, s, "acme")
	o2, u2 := seed(t, s, "globex")
	mk := func(o *store.Organization, u *store.User, name, account string, events, disabled bool, config string) *store.Instance {
		t.Helper()
		in := newInstance(o, u, name)
		in.Account, in.EventsEnabled, in.Disabled = account, events, disabled
		if config != "" {
			in.Config = append(in.Config, store.ConfigItem{Key: key, Value: config})
		}
		if err := s.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	a := mk(o, u, "A", "shared", true, false, `{"contacts":{}}`)
	b := mk(o2, u2, "B", "shared", true, false, "")
	off := mk(o, u, "Off", "shared", false, false, "")
	dis := mk(o, u, "Disabled", "shared", true, true, "")
	other := mk(o, u, "Other", "other", true, false, "")
	bad := mk(o, u, "Invalid", "shared", true, false, "")
	if err := s.SetInstanceValid(ctx, bad.ID, false, "401"); err != nil {
		t.Fatal(err)
	}
	cursor := time.Now().UTC()
	for _, in := range []*store.Instance{a, b, off, dis, other, bad} {
		if _, _, err := s.SyncPolls(ctx, in.ID, []string{"contacts", "leads"}, 5*time.Minute, cursor); err != nil {
			t.Fatal(err)
		}
	}
	present := make([]string, 1200)
	for i := range present {
		present[i] = fmt.Sprint(i + 1)
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		return tx.CommitScan(ctx, &store.ScanResult{InstanceID: a.ID, Resource: "contacts", Present: present, At: cursor, Complete: true})
	}); err != nil {
		t.Fatal(err)
	}

	got, err := s.AccountPolls(ctx, "shared", key)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, ap := range got {
		rows = append(rows, fmt.Sprintf("%d/%s org=%d every=%v config=%q known=%d", ap.Poll.InstanceID, ap.Poll.Resource,
			ap.OrgID, ap.Poll.Interval, ap.PollerConfig, ap.KnownRecords))
	}
	want := []string{
		fmt.Sprintf("%d/contacts org=%d every=5m0s config=%q known=1200", a.ID, o.ID, `{"contacts":{}}`),
		fmt.Sprintf("%d/leads org=%d every=5m0s config=%q known=0", a.ID, o.ID, `{"contacts":{}}`),
		fmt.Sprintf("%d/contacts org=%d every=5m0s config=\"\" known=0", b.ID, o2.ID),
		fmt.Sprintf("%d/leads org=%d every=5m0s config=\"\" known=0", b.ID, o2.ID),
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("AccountPolls:\n got %q\nwant %q", rows, want)
	}
	if len(got) > 0 && got[0].Poll.LastScanAt.IsZero() {
		t.Error("the poll's own columns are not read")
	}
	if got, err := s.AccountPolls(ctx, "nobody", key); err != nil || len(got) != 0 {
		t.Errorf("unknown account: %v, %v", got, err)
	}
	accounts, err := s.PolledAccounts(ctx)
	if err != nil || fmt.Sprint(accounts) != "[other shared]" {
		t.Errorf("PolledAccounts = %v, %v", accounts, err)
	}
}
