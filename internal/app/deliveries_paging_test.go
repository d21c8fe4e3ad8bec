package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// Cloud Elements' deliveries endpoints see every notification, not each
// callback's 1,000 oldest: GET pages through them all and says when more
// follow; PUT acts on every match and says how many.
func TestDeliveriesBeyondOnePage(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) { t.Parallel(); testDeliveriesBeyondOnePage(t, newHarness(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		testDeliveriesBeyondOnePage(t, newHarness(t, withDatabase(testdb.FreshSchema(t, testdb.PostgresURL(t))),
			func(c *serverConfig) { c.EncryptionKey = seal.NewKey("k1") }))
	})
}

func testDeliveriesBeyondOnePage(t *testing.T, h *harness) {
	ctx := context.Background()
	in, _ := h.create(h.instanceBody("Paged", map[string]any{"event.notification.enabled": false}))
	st := h.srv.store
	org, err := st.OrganizationBySecret(ctx, auth.Hash(h.creds.Organization))
	if err != nil {
		t.Fatal(err)
	}
	const total = store.MaxNotificationPage + 5
	var cb *store.Callback
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if cb, err = tx.CallbackFor(ctx, org.ID, h.hook); err != nil {
			return err
		}
		cb.State = store.CallbackSuspended
		if err := tx.UpdateCallback(ctx, cb); err != nil {
			return err
		}
		for i := range total {
			n := &store.Notification{ID: fmt.Sprintf("q%04d", i), OrgID: org.ID, InstanceID: in.ID, CallbackID: cb.ID, Resource: "contacts", Body: []byte("{}"), Status: store.NotificationQueued}
			if err := tx.InsertNotification(ctx, n, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// GET: the default page is 200 and says more follow; paging sees all.
	where := url.QueryEscape("channel='webhook' and status='queued'")
	resp, out := h.call("GET", "/notifications/subscriptions/deliveries?where="+where, h.platform(), nil)
	want(t, resp, out, 200, "")
	var page []struct{ NotificationID, Status string }
	json.Unmarshal(out, &page)
	if len(page) != 200 || resp.Header.Get("Elements-Next-Page-Token") == "" || resp.Header.Get("Elements-Returned-Count") != "200" {
		t.Fatalf("first page: %d deliveries, headers %v", len(page), resp.Header)
	}
	seen := map[string]bool{}
	next, pages := "", 0
	for {
		resp, out = h.call("GET", "/notifications/subscriptions/deliveries?pageSize=1000&where="+where+"&nextPage="+next, h.platform(), nil)
		want(t, resp, out, 200, "")
		page = nil
		json.Unmarshal(out, &page)
		for _, d := range page {
			if seen[d.NotificationID] || d.Status != "queued" {
				t.Fatalf("delivery %+v twice or not queued", d)
			}
			seen[d.NotificationID] = true
		}
		pages++
		if next = resp.Header.Get("Elements-Next-Page-Token"); next == "" {
			break
		}
	}
	if len(seen) != total || pages != 2 {
		t.Errorf("paged through %d deliveries in %d pages, want %d in 2", len(seen), pages, total)
	}

	// PUT acts on matches beyond the 1,000 oldest, and says how many.
	where = url.QueryEscape("status='queued' and notificationId >= 'q1000'")
	resp, out = h.call("PUT", "/notifications/subscriptions/deliveries?where="+where, h.platform(), nil)
	want(t, resp, out, 200, "")
	var red []struct {
		NotificationID string `json:"notificationId"`
		SubscriptionID int64  `json:"subscriptionId"`
		Status         string `json:"status"`
	}
	json.Unmarshal(out, &red)
	if len(red) != 5 || red[0].SubscriptionID != cb.ID || red[0].Status != "queued" || resp.Header.Get("Elements-Total-Count") != "5" {
		t.Errorf("redelivery: %s (total %q); want 5 queued deliveries of callback %d", out, resp.Header.Get("Elements-Total-Count"), cb.ID)
	}
	// A match larger than the answer lists: every one is acted on, and the
	// headers say how many there were.
	resp, out = h.call("PUT", "/notifications/subscriptions/deliveries?where="+url.QueryEscape("subscriptionId = "+fmt.Sprint(cb.ID)), h.platform(), nil)
	want(t, resp, out, 200, "")
	json.Unmarshal(out, &red)
	if len(red) != 1000 || resp.Header.Get("Elements-Total-Count") != fmt.Sprint(total) || resp.Header.Get("Elements-Returned-Count") != "1000" {
		t.Errorf("a large redelivery listed %d, total %q, returned %q; want 1000 of %d", len(red), resp.Header.Get("Elements-Total-Count"),
			resp.Header.Get("Elements-Returned-Count"), total)
	}
	if got, err := st.GetCallback(ctx, org.ID, cb.ID); err != nil || got.State != store.CallbackActive {
		t.Errorf("callback after the redelivery: %+v %v", got, err)
	}
}
