package console

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/charts"
	"github.com/pollhook/pollhook/internal/store"
)

// chartSet is the three charts of an instance or of the organization,
// over the last day.
type chartSet struct {
	Events, Latency, Failures template.HTML
}

// chartsFor draws the last 24 hours of an organization (instanceID 0) or
// of one instance.
func (c *Console) chartsFor(r *http.Request, orgID, instanceID int64) (chartSet, error) {
	ctx := r.Context()
	until := time.Now().UTC()
	since := until.Truncate(time.Hour).Add(-23 * time.Hour)
	var set chartSet
	events, err := c.cfg.Store.EventsPerHour(ctx, orgID, instanceID, since, until)
	if err != nil {
		return set, err
	}
	latency, err := c.cfg.Store.DeliveryLatency(ctx, orgID, instanceID, since, until)
	if err != nil {
		return set, err
	}
	failures, err := c.cfg.Store.FailuresPerHour(ctx, orgID, instanceID, since, until)
	if err != nil {
		return set, err
	}
	set.Events = charts.EventsChart(events, since, until, time.Hour)
	set.Latency = charts.LatencyChart(latency, since, until)
	set.Failures = charts.FailuresChart(failures, since, until)
	return set, nil
}

// callbackRow is one callback with its queue.
type callbackRow struct {
	*store.Callback
	Queue store.CallbackQueue
}

type activityData struct {
	Charts    chartSet
	Callbacks []callbackRow
}

// activity: the organization's charts and its callbacks, with their
// queues, and reactivation for a suspended one.
func (c *Console) activity(w http.ResponseWriter, r *http.Request, v *viewer) {
	var d activityData
	var err error
	if d.Charts, err = c.chartsFor(r, v.caller.Org.ID, 0); err != nil {
		c.fail(w, r, v, err)
		return
	}
	cbs, err := c.cfg.Store.Callbacks(r.Context(), v.caller.Org.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	queues, err := c.cfg.Store.CallbackQueues(r.Context(), v.caller.Org.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, cb := range cbs {
		d.Callbacks = append(d.Callbacks, callbackRow{Callback: cb, Queue: queues[cb.ID]})
	}
	// Trouble first: suspended, then retrying, then the rest by URL.
	rank := map[string]int{store.CallbackSuspended: 0, store.CallbackRetrying: 1}
	slices.SortStableFunc(d.Callbacks, func(a, b callbackRow) int {
		ra, oka := rank[a.State]
		rb, okb := rank[b.State]
		if !oka {
			ra = 2
		}
		if !okb {
			rb = 2
		}
		return ra - rb
	})
	c.render(w, http.StatusOK, "activity", v.page("Activity", d))
}

// reactivate makes a suspended callback active again: its queue goes out,
// in order.
func (c *Console) reactivate(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		err = store.ErrNotFound
	} else {
		err = c.cfg.Outbox.Reactivate(r.Context(), v.caller.Org.ID, id)
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/activity?done=reactivated#callbacks", http.StatusSeeOther)
}
