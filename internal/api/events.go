package api

import (
	"errors"
	"net/http"
	"strconv"
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
}

func viewEvent(e *store.Event) eventView {
	return eventView{ID: e.ID, EventDate: e.Date.UTC().Format(time.RFC3339), Status: e.Status, ProviderData: e.ProviderData,
		NotifiedData: []any{}, EventType: e.Type, ObjectType: e.Resource, ObjectID: e.ObjectID, InstanceID: e.InstanceID,
		PollDate: e.PollDate.UTC().Format(time.RFC3339), CreatedDate: e.CreatedAt.UTC().Format(time.RFC3339), Backfill: e.Backfill,
		NotificationID: e.NotificationID}
}

// listEvents: GET /instances/events and /instances/{id}/events, oldest
// first; pageSize (≤ 1000, default 200) and nextPage (from the
// Elements-Next-Page-Token of the previous page).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p params) {
	c := callerOf(r)
	f := store.EventFilter{Limit: 200}
	if raw, ok := p["id"]; ok {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			s.fail(w, r, &httpError{http.StatusBadRequest, "id: " + strconv.Quote(raw) + " is not an instance id"})
			return
		}
		if _, err := s.cfg.Instances.Get(r.Context(), c.Caller, id); err != nil {
			s.fail(w, r, err)
			return
		}
		f.InstanceID = id
	}
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
