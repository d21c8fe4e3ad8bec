package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/element/ceql"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// Deliveries is the delivery control the API exposes; the outbox
// (delivery.Outbox) implements it.
type Deliveries interface {
	Reactivate(ctx context.Context, orgID, callbackID int64) error
	Replay(ctx context.Context, orgID int64, id string) (*store.Notification, error)
	ReplayMatching(ctx context.Context, orgID int64, f store.EventFilter) (notifications int, ids []string, err error)
}

// Tester sends test notifications; delivery.Tester implements it.
type Tester interface {
	Test(ctx context.Context, orgID, instanceID int64) (*store.TestDelivery, error)
}

// testDeliveryView is a recorded test notification.
type testDeliveryView struct {
	ID             int64           `json:"id"`
	InstanceID     int64           `json:"instanceId"`
	URL            string          `json:"url"`
	NotificationID string          `json:"notificationId"`
	ObjectType     string          `json:"objectType"`
	At             string          `json:"at"`
	OK             bool            `json:"ok"`     // a 2xx came back
	Status         int             `json:"status"` // the receiver's status; 0: no response
	LatencyMs      int64           `json:"latencyMs"`
	Error          string          `json:"error,omitempty"`    // no response: why
	Response       string          `json:"response,omitempty"` // the first 2 KB of the receiver's answer
	Signature      string          `json:"signature"`          // the Elements-Webhook-Signature sent
	Notification   json.RawMessage `json:"notification"`       // the exact body sent
}

func viewTestDelivery(d *store.TestDelivery) testDeliveryView {
	return testDeliveryView{ID: d.ID, InstanceID: d.InstanceID, URL: d.URL, NotificationID: d.NotificationID, ObjectType: d.Resource,
		At: d.At.UTC().Format(time.RFC3339Nano), OK: d.OK(), Status: d.StatusCode, LatencyMs: d.Latency.Milliseconds(), Error: d.Error,
		Response: d.Response, Signature: d.Signature, Notification: d.Body}
}

// callbackTest: POST /instances/{id}/callback-test sends the instance a
// test notification and answers its record, whatever the receiver said.
func (s *Server) callbackTest(w http.ResponseWriter, r *http.Request, p params) {
	in, err := s.callerInstance(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.cfg.Tester.Test(r.Context(), callerOf(r).Org.ID, in.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewTestDelivery(d))
}

// getCallbackTest: GET /instances/{id}/callback-tests/{testId}.
func (s *Server) getCallbackTest(w http.ResponseWriter, r *http.Request, p params) {
	in, err := s.callerInstance(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := strconv.ParseInt(p["testId"], 10, 64)
	if err != nil || id < 1 {
		s.fail(w, r, &httpError{http.StatusBadRequest, "testId: " + strconv.Quote(p["testId"]) + " is not a test id"})
		return
	}
	d, err := s.cfg.Store.TestDeliveryByID(r.Context(), callerOf(r).Org.ID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.InstanceID != in.ID) {
		s.fail(w, r, &httpError{http.StatusNotFound, "no such callback test"})
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewTestDelivery(d))
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
	writeJSON(w, http.StatusOK, signatureKeyView{SignatureKey: key, StandardWebhooksSecret: delivery.StandardSecret(key)})
}

// signatureKeyView is the instance's signing key, in both the forms a
// receiver may verify with.
type signatureKeyView struct {
	SignatureKey           string `json:"signatureKey"`           // the HMAC key of Elements-Webhook-Signature
	StandardWebhooksSecret string `json:"standardWebhooksSecret"` // the same key as a Standard Webhooks whsec_ secret
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
	w.Header().Set("Elements-Returned-Count", strconv.Itoa(len(out)))
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

// deliveryBatch is how many notifications a deliveries scan reads from the
// store at a time; tests may lower it.
var deliveryBatch = store.MaxNotificationPage

// deliveryScan walks every notification of an organization matching a
// CEQL where on channel (always 'webhook'), status, config.url (or url),
// subscriptionId, instanceId, notificationId, createdDate and
// updatedDate, oldest first, from after seq on, batch by batch: there is
// no cap. What the where's top-level AND pins down (status, callback,
// instance, creation time) filters in the database; the whole where is
// then evaluated on each row read.
type deliveryScan struct {
	where ceql.Expr
	org   int64
	cbs   map[int64]*store.Callback
	f     store.NotificationFilter
}

func (s *Server) newDeliveryScan(r *http.Request) (*deliveryScan, error) {
	where, err := ceql.Parse(r.URL.Query().Get("where"))
	if err != nil {
		return nil, &httpError{http.StatusBadRequest, "where: " + err.Error()}
	}
	org := callerOf(r).Org.ID
	cbs, err := s.cfg.Store.Callbacks(r.Context(), org)
	if err != nil {
		return nil, err
	}
	sc := &deliveryScan{where: where, org: org, cbs: map[int64]*store.Callback{}}
	for _, cb := range cbs {
		sc.cbs[cb.ID] = cb
	}
	sc.pushDown(cbs)
	return sc, nil
}

// pushDown turns the conjuncts it understands into store filters. Each
// filter selects a superset of what the conjunct matches (the where is
// evaluated again on every row), so a conjunct it does not understand
// only costs rows read.
func (sc *deliveryScan) pushDown(cbs []*store.Callback) {
	str := func(v ceql.Value) (string, bool) { return v.Str, v.Kind == ceql.String }
	id := func(v ceql.Value) (int64, bool) {
		switch v.Kind {
		case ceql.Number:
			return int64(v.Num), v.Num == float64(int64(v.Num))
		case ceql.String:
			n, err := strconv.ParseInt(v.Str, 10, 64)
			return n, err == nil
		}
		return 0, false
	}
	onlyCallbacks := func(keep func(*store.Callback) bool) {
		ids := []int64{}
		for _, cb := range cbs {
			if keep(cb) && (sc.f.CallbackIDs == nil || slices.Contains(sc.f.CallbackIDs, cb.ID)) {
				ids = append(ids, cb.ID)
			}
		}
		sc.f.CallbackIDs = ids
	}
	for _, c := range ceql.Conjuncts(sc.where) {
		switch c := c.(type) {
		case *ceql.Compare:
			if c.Op == ceql.Eq {
				switch c.Field {
				case "status":
					if v, ok := str(c.Value); ok && sc.f.Statuses == nil {
						sc.f.Statuses = []string{strings.ToLower(v)} // statuses are lower case; CEQL compares ignoring case
					}
				case "config.url", "url":
					if v, ok := str(c.Value); ok {
						onlyCallbacks(func(cb *store.Callback) bool { return strings.EqualFold(cb.URL, v) })
					}
				case "subscriptionId":
					if v, ok := id(c.Value); ok {
						onlyCallbacks(func(cb *store.Callback) bool { return cb.ID == v })
					}
				case "instanceId":
					if v, ok := id(c.Value); ok && sc.f.InstanceID == 0 {
						sc.f.InstanceID = v
					}
				}
			}
			if c.Field == "createdDate" && c.Value.Kind == ceql.String {
				t, err := time.Parse(time.RFC3339Nano, c.Value.Str)
				if err != nil {
					break
				}
				// createdDate reads in whole seconds.
				switch c.Op {
				case ceql.Gt, ceql.Ge, ceql.Eq:
					if sc.f.CreatedFrom.IsZero() || t.After(sc.f.CreatedFrom) {
						sc.f.CreatedFrom = t.Truncate(time.Second)
					}
				}
				switch c.Op {
				case ceql.Lt, ceql.Le, ceql.Eq:
					if b := t.Truncate(time.Second).Add(time.Second); sc.f.CreatedBefore.IsZero() || b.Before(sc.f.CreatedBefore) {
						sc.f.CreatedBefore = b
					}
				}
			}
		case *ceql.In:
			if c.Field == "status" && !c.Not && sc.f.Statuses == nil {
				var sts []string
				for _, v := range c.Values {
					if v.Kind != ceql.String {
						sts = nil
						break
					}
					sts = append(sts, strings.ToLower(v.Str))
				}
				if sts != nil {
					sc.f.Statuses = sts
				}
			}
		}
	}
}

// each calls fn with every matching notification after seq after, oldest
// first, until fn returns false.
func (sc *deliveryScan) each(ctx context.Context, st *store.Store, after int64, fn func(*store.Notification, *store.Callback) bool) error {
	f := sc.f
	f.AfterSeq, f.Limit = after, deliveryBatch
	for {
		page, err := st.Notifications(ctx, sc.org, f)
		if err != nil {
			return err
		}
		for _, n := range page {
			cb := sc.cbs[n.CallbackID]
			ok, err := ceql.Eval(sc.where, func(field string) (any, bool) {
				switch field {
				case "channel":
					return "webhook", true
				case "status":
					return n.Status, true
				case "config.url", "url":
					if cb == nil {
						return nil, false
					}
					return cb.URL, true
				case "notificationId":
					return n.ID, true
				case "subscriptionId":
					return n.CallbackID, true
				case "instanceId":
					return n.InstanceID, true
				case "createdDate":
					return stamp(n.CreatedAt), true
				case "updatedDate":
					return stamp(n.UpdatedAt), true
				}
				return nil, false
			})
			if err != nil {
				return &httpError{http.StatusBadRequest, "where: " + err.Error()}
			}
			if ok && !fn(n, cb) {
				return nil
			}
		}
		if len(page) < f.Limit {
			return nil
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

// listDeliveries is Cloud Elements' "GET deliveries", oldest first, a page
// at a time: pageSize (1-1000, default 200) and nextPage, from the
// Elements-Next-Page-Token of the previous page, which is absent after the
// last page.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, _ params) {
	q := r.URL.Query()
	size := 200
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, &httpError{http.StatusBadRequest, "pageSize: must be between 1 and 1000"})
			return
		}
		size = n
	}
	var after int64
	if v := q.Get("nextPage"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(w, r, &httpError{http.StatusBadRequest, "nextPage: not a page token this server issued"})
			return
		}
		after = n
	}
	sc, err := s.newDeliveryScan(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []ceDelivery{}
	var last, next int64
	err = sc.each(r.Context(), s.cfg.Store, after, func(n *store.Notification, _ *store.Callback) bool {
		if len(out) == size {
			next = last // one more match: there is a next page
			return false
		}
		out = append(out, ceDelivery{NotificationID: n.ID, SubscriptionID: n.CallbackID, Status: n.Status,
			CreatedDate: stamp(n.CreatedAt), UpdatedDate: stamp(n.UpdatedAt)})
		last = n.Seq
		return true
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if next != 0 {
		w.Header().Set("Elements-Next-Page-Token", strconv.FormatInt(next, 10))
	}
	w.Header().Set("Elements-Returned-Count", strconv.Itoa(len(out)))
	writeJSON(w, http.StatusOK, out)
}

// redeliverEcho bounds how many of the matched deliveries a redelivery
// answer lists; every match is acted on, and the headers say how many.
const redeliverEcho = 1000

// redeliver is Cloud Elements' "PUT deliveries": reactivate the callbacks
// of every matching (queued) delivery, however many, which redelivers
// their queues. It answers, as Cloud Elements did, with the matching
// deliveries as they were — the first 1,000 of them, oldest first — and
// says how many matched in Elements-Total-Count (Elements-Returned-Count:
// how many the body lists), so a larger match is acted on whole and is
// never silently shortened.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, _ params) {
	sc, err := s.newDeliveryScan(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []ceDelivery{}
	total := 0
	var callbacks []int64
	err = sc.each(r.Context(), s.cfg.Store, 0, func(n *store.Notification, _ *store.Callback) bool {
		total++
		if len(out) < redeliverEcho {
			out = append(out, ceDelivery{NotificationID: n.ID, SubscriptionID: n.CallbackID, Status: n.Status,
				CreatedDate: stamp(n.CreatedAt), UpdatedDate: stamp(n.UpdatedAt)})
		}
		if !slices.Contains(callbacks, n.CallbackID) {
			callbacks = append(callbacks, n.CallbackID)
		}
		return true
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slices.Sort(callbacks)
	for _, id := range callbacks {
		if err := s.cfg.Deliveries.Reactivate(r.Context(), callerOf(r).Org.ID, id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Elements-Total-Count", strconv.Itoa(total))
	w.Header().Set("Elements-Returned-Count", strconv.Itoa(len(out)))
	writeJSON(w, http.StatusOK, out)
}
