package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// The events: what happened, what was sent, what failed, and fixing it.

// eventFilter is the events page's filter, as typed.
type eventFilter struct {
	Instance, Resource, Type, Delivery, Since, Until string
	After                                            int64
}

// localTime is the format of a datetime-local input, read as UTC.
const localTime = "2006-01-02T15:04"

func filterFrom(q url.Values) eventFilter {
	f := eventFilter{Instance: q.Get("instance"), Resource: strings.TrimSpace(q.Get("resource")), Type: q.Get("type"),
		Delivery: q.Get("delivery"), Since: q.Get("since"), Until: q.Get("until")}
	f.After, _ = strconv.ParseInt(q.Get("after"), 10, 64)
	return f
}

// store is the filter for the store, or a message saying which field is
// wrong.
func (f eventFilter) store() (store.EventFilter, string) {
	sf := store.EventFilter{Resource: f.Resource, Type: f.Type, DeliveryStatus: f.Delivery, AfterSeq: f.After, Limit: 100}
	if f.Instance != "" {
		id, err := strconv.ParseInt(f.Instance, 10, 64)
		if err != nil {
			return sf, "Instance: not an instance."
		}
		sf.InstanceID = id
	}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"Since", f.Since, &sf.Since}, {"Until", f.Until, &sf.Until}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(localTime, t.v)
		if err != nil {
			if v, err = time.Parse(time.RFC3339, t.v); err != nil {
				return sf, t.name + ": " + strconv.Quote(t.v) + " is not a time like 2026-12-01T09:30 (UTC)."
			}
		}
		*t.dst = v.UTC()
	}
	return sf, ""
}

// query is the filter as a URL query, without the page.
func (f eventFilter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"instance": f.Instance, "resource": f.Resource, "type": f.Type, "delivery": f.Delivery,
		"since": f.Since, "until": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

type eventRow struct {
	*store.Event
	Instance string
	// Delivery is its notification's delivery; nil when no notification
	// carries it.
	Delivery *store.DeliverySummary
}

type eventsData struct {
	Filter    eventFilter
	Instances []*instance.View
	Events    []eventRow
	Next      string // the next page's URL, "" on the last
	Query     string
}

// events lists the organization's events, filtered, oldest first, a page
// at a time.
func (c *Console) events(w http.ResponseWriter, r *http.Request, v *viewer) {
	d := eventsData{Filter: filterFrom(r.URL.Query())}
	if r.URL.Query().Get("since") == "" && r.URL.Query().Get("filtered") == "" {
		// By default, the last day.
		d.Filter.Since = time.Now().UTC().Add(-24 * time.Hour).Format(localTime)
	}
	d.Query = d.Filter.query()
	sf, problem := d.Filter.store()
	var err error
	if d.Instances, err = c.cfg.Instances.List(r.Context(), v.caller, store.InstanceFilter{}); err != nil {
		c.fail(w, r, v, err)
		return
	}
	names := map[int64]string{}
	for _, in := range d.Instances {
		names[in.ID] = in.Name
	}
	p := v.page("Events", &d)
	if problem != "" {
		p.Problem = problem
		c.render(w, http.StatusBadRequest, "events", p)
		return
	}
	evs, err := c.cfg.Store.Events(r.Context(), v.caller.Org.ID, sf)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	// The page's deliveries, in one read.
	var ids []string
	for _, e := range evs {
		if e.NotificationID != "" {
			ids = append(ids, e.NotificationID)
		}
	}
	deliveries, err := c.cfg.Store.DeliverySummaries(r.Context(), v.caller.Org.ID, ids)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, e := range evs {
		row := eventRow{Event: e, Instance: names[e.InstanceID]}
		if dv, ok := deliveries[e.NotificationID]; ok {
			row.Delivery = &dv
		}
		d.Events = append(d.Events, row)
	}
	if len(evs) == sf.Limit {
		d.Next = "/events?filtered=1&" + d.Query + "&after=" + strconv.FormatInt(evs[len(evs)-1].Seq, 10)
	}
	c.render(w, http.StatusOK, "events", p)
}

type eventData struct {
	Event        *store.Event
	Changes      []fieldChange // the UPDATED's diff, by field
	Instance     string
	Record       string // the record as read, indented
	Notification *store.Notification
	Sent         string // the notification's body, exactly as sent
	Attempts     []store.Attempt
}

// fieldChange is one row of an event's diff.
type fieldChange struct{ Field, Before, After string }

// event shows one event: the record as read, the notification exactly as
// sent, and every attempt.
func (c *Console) event(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	e, err := c.cfg.Store.EventByID(ctx, v.caller.Org.ID, r.PathValue("eventId"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d := eventData{Event: e, Record: pretty(json.RawMessage(e.ProviderData))}
	if len(e.ChangedFields) > 0 {
		var diff map[string]struct{ Before, After json.RawMessage }
		if json.Unmarshal(e.ChangedFields, &diff) == nil {
			for f, c := range diff {
				d.Changes = append(d.Changes, fieldChange{Field: f, Before: string(c.Before), After: string(c.After)})
			}
			slices.SortFunc(d.Changes, func(a, b fieldChange) int { return strings.Compare(a.Field, b.Field) })
		}
	}
	if in, err := c.cfg.Instances.Get(ctx, v.caller, e.InstanceID); err == nil {
		d.Instance = in.Name
	}
	if e.NotificationID != "" {
		if d.Notification, err = c.cfg.Store.NotificationByID(ctx, v.caller.Org.ID, e.NotificationID); err != nil {
			c.fail(w, r, v, err)
			return
		}
		d.Sent = string(d.Notification.Body)
		if d.Attempts, err = c.cfg.Store.Attempts(ctx, d.Notification.Seq); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	c.render(w, http.StatusOK, "event", v.page(e.Type+" "+e.Resource+" "+e.ObjectID, d))
}

// replay sends one notification again: same id and body, new attempts.
func (c *Console) replay(w http.ResponseWriter, r *http.Request, v *viewer) {
	n, err := c.cfg.Outbox.Replay(r.Context(), v.caller.Org.ID, r.PathValue("notificationId"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	back := safeNext(r.FormValue("back"))
	if back == "/instances" {
		back = "/events"
	}
	sep := "?"
	if strings.Contains(back, "?") {
		sep = "&"
	}
	http.Redirect(w, r, back+sep+"done=replayed&notification="+url.QueryEscape(n.ID), http.StatusSeeOther)
}

type replayData struct {
	Filter        eventFilter
	Query         string
	Notifications int
	Events        int
	Unsent        int // matching events no notification carries
}

// replayPage says how many notifications the filtered replay would send,
// and asks.
func (c *Console) replayPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d := replayData{Filter: filterFrom(r.URL.Query())}
	d.Query = d.Filter.query()
	sf, problem := d.Filter.store()
	if problem != "" {
		c.failPage(w, r, v, http.StatusBadRequest, problem)
		return
	}
	ctx, org := r.Context(), v.caller.Org.ID
	sf.AfterSeq, sf.Limit = 0, 0
	var err error
	if d.Events, err = c.cfg.Store.CountEvents(ctx, org, sf); err != nil {
		c.fail(w, r, v, err)
		return
	}
	switch sf.DeliveryStatus {
	case store.EventNotNotified:
		d.Unsent = d.Events
	case "":
		none := sf
		none.DeliveryStatus = store.EventNotNotified
		if d.Unsent, err = c.cfg.Store.CountEvents(ctx, org, none); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	// The notifications carrying them, each once, page after page.
	for after := int64(0); ; {
		ns, err := c.cfg.Store.EventNotifications(ctx, org, sf, after, store.MaxNotificationPage)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		d.Notifications += len(ns)
		if len(ns) < store.MaxNotificationPage {
			break
		}
		after = ns[len(ns)-1].Seq
	}
	c.render(w, http.StatusOK, "replay", v.page("Replay", d))
}

// replayFiltered replays every notification carrying a matching event.
func (c *Console) replayFiltered(w http.ResponseWriter, r *http.Request, v *viewer) {
	r.ParseForm()
	f := filterFrom(r.PostForm)
	sf, problem := f.store()
	if problem != "" {
		c.failPage(w, r, v, http.StatusBadRequest, problem)
		return
	}
	sf.AfterSeq, sf.Limit = 0, 0
	n, _, err := c.cfg.Outbox.ReplayMatching(r.Context(), v.caller.Org.ID, sf)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/events?filtered=1&"+f.query()+"&done=replayed-many&count="+strconv.Itoa(n), http.StatusSeeOther)
}
