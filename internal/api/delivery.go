package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/element/ceql"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// Deliveries is the delivery control the API exposes; the job engine
// implements it.
type Deliveries interface {
	Reactivate(ctx context.Context, orgID, callbackID int64) error
	Replay(ctx context.Context, orgID int64, id string) (*store.Notification, error)
}

type callbackView struct {
	ID             int64  `json:"id"`
	URL            string `json:"url"`
	State          string `json:"state"`
	Failures       int    `json:"failures"`
	FirstFailureAt string `json:"firstFailureAt,omitempty"`
	NextAttemptAt  string `json:"nextAttemptAt,omitempty"`
	SuspendedAt    string `json:"suspendedAt,omitempty"`
	LastError      string `json:"lastError,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func viewCallback(c *store.Callback) callbackView {
	return callbackView{ID: c.ID, URL: c.URL, State: c.State, Failures: c.Failures, FirstFailureAt: stamp(c.FirstFailureAt),
		NextAttemptAt: stamp(c.NextAttemptAt), SuspendedAt: stamp(c.SuspendedAt), LastError: c.LastError}
}

type notificationView struct {
	ID            string          `json:"id"`
	InstanceID    int64           `json:"instanceId"`
	CallbackID    int64           `json:"callbackId"`
	Resource      string          `json:"objectType"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	CreatedDate   string          `json:"createdDate"`
	UpdatedDate   string          `json:"updatedDate"`
	DeliveredDate string          `json:"deliveredDate,omitempty"`
	Notification  json.RawMessage `json:"notification,omitempty"`
}

func viewNotification(n *store.Notification, withBody bool) notificationView {
	v := notificationView{ID: n.ID, InstanceID: n.InstanceID, CallbackID: n.CallbackID, Resource: n.Resource, Status: n.Status,
		Attempts: n.Attempts, CreatedDate: stamp(n.CreatedAt), UpdatedDate: stamp(n.UpdatedAt), DeliveredDate: stamp(n.DeliveredAt)}
	if withBody {
		v.Notification = n.Body
	}
	return v
}

func (s *Server) signatureKey(w http.ResponseWriter, r *http.Request, p params) {
	in, err := s.callerInstance(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cfg, err := s.cfg.Instances.Config(in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := cfg[instance.KeySignatureKey]
	if key == "" {
		s.fail(w, r, &httpError{http.StatusNotFound, "the instance has no signature key (events are off)"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"signatureKey": key, "standardWebhooksSecret": delivery.StandardSecret(key)})
}

func (s *Server) listCallbacks(w http.ResponseWriter, r *http.Request, _ params) {
	cbs, err := s.cfg.Store.Callbacks(r.Context(), callerOf(r).Org.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []callbackView{}
	for _, c := range cbs {
		out = append(out, viewCallback(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) reactivateCallback(w http.ResponseWriter, r *http.Request, p params) {
	id, err := strconv.ParseInt(p["callbackId"], 10, 64)
	if err != nil {
		s.fail(w, r, &httpError{http.StatusBadRequest, "callbackId: not a callback id"})
		return
	}
	org := callerOf(r).Org.ID
	if err := s.cfg.Deliveries.Reactivate(r.Context(), org, id); errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, &httpError{http.StatusNotFound, "no such callback"})
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	cb, err := s.cfg.Store.GetCallback(r.Context(), org, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewCallback(cb))
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, p params) {
	in, err := s.callerInstance(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := store.NotificationFilter{InstanceID: in.ID, Status: q.Get("status"), Limit: 200}
	if v := q.Get("pageSize"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			s.fail(w, r, &httpError{http.StatusBadRequest, "pageSize: must be between 1 and 1000"})
			return
		}
	}
	if v := q.Get("nextPage"); v != "" {
		if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.fail(w, r, &httpError{http.StatusBadRequest, "nextPage: not a page token this server issued"})
			return
		}
	}
	ns, err := s.cfg.Store.Notifications(r.Context(), callerOf(r).Org.ID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []notificationView{}
	for _, n := range ns {
		out = append(out, viewNotification(n, false))
	}
	if len(ns) == f.Limit {
		w.Header().Set("Elements-Next-Page-Token", strconv.FormatInt(ns[len(ns)-1].Seq, 10))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) notification(r *http.Request, p params) (*store.Notification, error) {
	n, err := s.cfg.Store.NotificationByID(r.Context(), callerOf(r).Org.ID, p["notificationId"])
	if errors.Is(err, store.ErrNotFound) {
		return nil, &httpError{http.StatusNotFound, "no such notification"}
	}
	return n, err
}

func (s *Server) getNotification(w http.ResponseWriter, r *http.Request, p params) {
	n, err := s.notification(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewNotification(n, true))
}

type attemptView struct {
	At         string `json:"at"`
	StatusCode int    `json:"statusCode,omitempty"`
	LatencyMs  int64  `json:"latencyMs"`
	Error      string `json:"error,omitempty"`
	Response   string `json:"response,omitempty"`
}

func (s *Server) listAttempts(w http.ResponseWriter, r *http.Request, p params) {
	n, err := s.notification(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	as, err := s.cfg.Store.Attempts(r.Context(), n.Seq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []attemptView{}
	for _, a := range as {
		out = append(out, attemptView{At: stamp(a.At), StatusCode: a.StatusCode, LatencyMs: a.Latency.Milliseconds(), Error: a.Error, Response: a.Response})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) replayNotification(w http.ResponseWriter, r *http.Request, p params) {
	n, err := s.cfg.Deliveries.Replay(r.Context(), callerOf(r).Org.ID, p["notificationId"])
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, &httpError{http.StatusNotFound, "no such notification"})
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, viewNotification(n, false))
}

// ceDelivery is Cloud Elements' delivery object (spec §4.4).
type ceDelivery struct {
	NotificationID string `json:"notificationId"`
	SubscriptionID int64  `json:"subscriptionId"`
	Status         string `json:"status"`
	CreatedDate    string `json:"createdDate"`
	UpdatedDate    string `json:"updatedDate"`
}

// deliveries finds the organization's deliveries matching a CEQL where on
// channel (always 'webhook'), status and config.url.
func (s *Server) deliveries(r *http.Request) ([]ceDelivery, map[int64]bool, error) {
	where, err := ceql.Parse(r.URL.Query().Get("where"))
	if err != nil {
		return nil, nil, &httpError{http.StatusBadRequest, "where: " + err.Error()}
	}
	org := callerOf(r).Org.ID
	cbs, err := s.cfg.Store.Callbacks(r.Context(), org)
	if err != nil {
		return nil, nil, err
	}
	out := []ceDelivery{}
	matched := map[int64]bool{}
	for _, cb := range cbs {
		ns, err := s.cfg.Store.Notifications(r.Context(), org, store.NotificationFilter{CallbackID: cb.ID})
		if err != nil {
			return nil, nil, err
		}
		for _, n := range ns {
			ok, err := ceql.Eval(where, func(field string) (any, bool) {
				switch field {
				case "channel":
					return "webhook", true
				case "status":
					return n.Status, true
				case "config.url", "url":
					return cb.URL, true
				case "notificationId":
					return n.ID, true
				}
				return nil, false
			})
			if err != nil {
				return nil, nil, &httpError{http.StatusBadRequest, "where: " + err.Error()}
			}
			if ok {
				out = append(out, ceDelivery{NotificationID: n.ID, SubscriptionID: cb.ID, Status: n.Status,
					CreatedDate: stamp(n.CreatedAt), UpdatedDate: stamp(n.UpdatedAt)})
				matched[cb.ID] = true
			}
		}
	}
	return out, matched, nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, _ params) {
	out, _, err := s.deliveries(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// redeliver is Cloud Elements' "PUT deliveries": reactivate the callbacks
// of the matching (queued) deliveries, which redelivers their queues.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, _ params) {
	out, callbacks, err := s.deliveries(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for id := range callbacks {
		if err := s.cfg.Deliveries.Reactivate(r.Context(), callerOf(r).Org.ID, id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}
