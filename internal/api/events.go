package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// eventView is an event as Cloud Elements' event records look (spec §4.5:
// id, eventDate, status, providerData, notifiedData) with the normalized
// fields of its notification (eventType, objectType, objectId…).
type eventView struct {
	ID           string `json:"id"`
	EventDate    string `json:"eventDate"`
	Status       string `json:"status"`
	ProviderData string `json:"providerData"`
	NotifiedData []any  `json:"notifiedData"`
	EventType    string `json:"eventType"`
	ObjectType   string `json:"objectType"`
	ObjectID     string `json:"objectId"`
	InstanceID   int64  `json:"instanceId"`
	PollDate     string `json:"pollDate"`
	CreatedDate  string `json:"createdDate"`
	Backfill     bool   `json:"backfill,omitempty"` // reported by an operator's backfill
	// NotificationID names the notification that carries the event: see
	// its attempts, or replay it.
	NotificationID string `json:"notificationId,omitempty"`
	// ChangedFields is an UPDATED's field diff, with snapshots on.
	ChangedFields json.RawMessage `json:"changedFields,omitempty"`
}

func viewEvent(e *store.Event) eventView {
	return eventView{ID: e.ID, EventDate: e.Date.UTC().Format(time.RFC3339), Status: e.Status, ProviderData: e.ProviderData,
		NotifiedData: []any{}, EventType: e.Type, ObjectType: e.Resource, ObjectID: e.ObjectID, InstanceID: e.InstanceID,
		PollDate: e.PollDate.UTC().Format(time.RFC3339), CreatedDate: e.CreatedAt.UTC().Format(time.RFC3339), Backfill: e.Backfill,
		NotificationID: e.NotificationID, ChangedFields: e.ChangedFields}
}

// eventFilterParams are the event filters' query parameters, for the
// routes' data (and so the OpenAPI document).
var eventFilterParams = []param{
	{"resource", "only events of this objectType (e.g. contacts)", "string"},
	{"eventType", "only events of this type: CREATED, UPDATED or DELETED", "string"},
	{"deliveryStatus", "only events whose notification has this status: created, retry, queued or delivered; none for events without a notification", "string"},
	{"since", "only events pollhook recorded at or after this time (RFC 3339)", "string"},
	{"until", "only events pollhook recorded before this time (RFC 3339)", "string"},
}

// maxFilterValue bounds a filter's text.
const maxFilterValue = 256

// eventFilter reads the event filters of a request: {id} (checked to be
// one of the caller's instances) and the query parameters of
// eventFilterParams. Paging (pageSize, nextPage) is the caller's.
func (s *Server) eventFilter(r *http.Request, p params) (store.EventFilter, error) {
	var f store.EventFilter
	if _, ok := p["id"]; ok {
		in, err := s.callerInstance(r, p)
		if err != nil {
			return f, err
		}
		f.InstanceID = in.ID
	}
	q := r.URL.Query()
	bad := func(name, msg string) error { return &httpError{http.StatusBadRequest, name + ": " + msg} }
	if v := q.Get("resource"); v != "" {
		if len(v) > maxFilterValue {
			return f, bad("resource", "longer than "+strconv.Itoa(maxFilterValue)+" bytes")
		}
		f.Resource = v
	}
	if v := q.Get("eventType"); v != "" {
		switch t := strings.ToUpper(v); t {
		case store.EventCreated, store.EventUpdated, store.EventDeleted:
			f.Type = t
		default:
			return f, bad("eventType", strconv.Quote(v)+" is not CREATED, UPDATED or DELETED")
		}
	}
	if v := q.Get("deliveryStatus"); v != "" {
		switch st := strings.ToLower(v); st {
		case store.NotificationCreated, store.NotificationRetry, store.NotificationQueued, store.NotificationDelivered, store.EventNotNotified:
			f.DeliveryStatus = st
		default:
			return f, bad("deliveryStatus", strconv.Quote(v)+" is not created, retry, queued, delivered or none")
		}
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, bad(name, strconv.Quote(v)+" is not an RFC 3339 time such as 2026-11-28T09:00:00Z")
			}
			*dst = t
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, bad("until", "must be after since")
	}
	return f, nil
}

// listEvents: GET /instances/events and /instances/{id}/events, oldest
// first, filtered (eventFilterParams); pageSize (≤ 1000, default 200) and
// nextPage (from the Elements-Next-Page-Token of the previous page: the
// last event's seq; pass the same filters with it).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p params) {
	c := callerOf(r)
	f, err := s.eventFilter(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Limit = 200
	q := r.URL.Query()
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, &httpError{http.StatusBadRequest, "pageSize: must be between 1 and 1000"})
			return
		}
		f.Limit = n
	}
	if v := q.Get("nextPage"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(w, r, &httpError{http.StatusBadRequest, "nextPage: not a page token this server issued"})
			return
		}
		f.AfterSeq = n
	}
	events, err := s.cfg.Store.Events(r.Context(), c.Org.ID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]eventView, 0, len(events))
	for _, e := range events {
		out = append(out, viewEvent(e))
	}
	if len(events) == f.Limit {
		w.Header().Set("Elements-Next-Page-Token", strconv.FormatInt(events[len(events)-1].Seq, 10))
	}
	w.Header().Set("Elements-Returned-Count", strconv.Itoa(len(out)))
	writeJSON(w, http.StatusOK, out)
}

// maxReplayIDs is how many notification ids a bulk replay's answer lists;
// notifications always says how many were replayed.
const maxReplayIDs = 1000

// replayResult is a bulk replay's answer.
type replayResult struct {
	Notifications int      `json:"notifications"`
	IDs           []string `json:"notificationIds"`
	// Truncated: notificationIds lists the first maxReplayIDs only.
	Truncated bool `json:"notificationIdsTruncated,omitempty"`
	// SkippedEvents are matching events without a notification to replay.
	SkippedEvents int `json:"skippedEvents"`
}

// replayEvents: POST /instances/events/replay and
// /instances/{id}/events/replay, filtered like listEvents (query
// parameters, no body): every notification carrying a matching event is
// replayed once.
func (s *Server) replayEvents(w http.ResponseWriter, r *http.Request, p params) {
	org := callerOf(r).Org.ID
	f, err := s.eventFilter(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, ids, err := s.cfg.Deliveries.ReplayMatching(r.Context(), org, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := replayResult{Notifications: n, IDs: ids}
	if out.IDs == nil {
		out.IDs = []string{}
	}
	if len(out.IDs) > maxReplayIDs {
		out.IDs, out.Truncated = out.IDs[:maxReplayIDs], true
	}
	if f.DeliveryStatus == "" || f.DeliveryStatus == store.EventNotNotified {
		none := f
		none.DeliveryStatus = store.EventNotNotified
		if out.SkippedEvents, err = s.cfg.Store.CountEvents(r.Context(), org, none); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusAccepted, out)
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, p params) {
	c := callerOf(r)
	e, err := s.cfg.Store.EventByID(r.Context(), c.Org.ID, p["eventId"])
	if errors.Is(err, store.ErrNotFound) || (err == nil && p["id"] != "" && strconv.FormatInt(e.InstanceID, 10) != p["id"]) {
		s.fail(w, r, &httpError{http.StatusNotFound, "no such event"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewEvent(e))
}
