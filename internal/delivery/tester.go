package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// Tester sends test notifications: one sample event in the instance's own
// envelope, action "test", signed with the instance's key exactly as its
// notifications are (both signatures, its extra headers and basic auth),
// plus the header Pollhook-Test: true, sent synchronously through the
// pipeline's SSRF-guarded sender. A test is out of band: it never touches
// the callback's state, queue or retry schedule, and is not a
// notification in the outbox. Each one is recorded (store.TestDelivery).
type Tester struct {
	Store     *store.Store
	Instances *instance.Service
	Sender    *Sender
	Now       func() time.Time
}

// Tester is a tester sending through the pipeline's sender.
func (p *Pipeline) Tester() *Tester {
	return &Tester{Store: p.cfg.Store, Instances: p.cfg.Instances, Sender: p.cfg.Sender, Now: p.cfg.Now}
}

// HeaderTest marks a test notification.
const HeaderTest = "Pollhook-Test"

// TestRefusedError says why an instance cannot be sent a test
// notification (events off, no callback URL); an HTTP API answers 409.
type TestRefusedError struct{ Reason string }

func (e *TestRefusedError) Error() string   { return e.Reason }
func (e *TestRefusedError) HTTPStatus() int { return http.StatusConflict }

// testObjectID is the id of a synthetic test record.
const testObjectID = "pollhook-test"

// Test sends an instance of the organization a test notification and
// records it. The receiver's answer, whatever it is (an error status, a
// timeout, a refused address), is in the record, not an error: errors are
// store.ErrNotFound (no such instance in the organization), a
// *TestRefusedError, or the store's.
func (t *Tester) Test(ctx context.Context, orgID, instanceID int64) (*store.TestDelivery, error) {
	inst, err := t.Store.Instance(ctx, orgID, instanceID)
	if err != nil {
		return nil, err
	}
	cfg, err := t.Instances.Config(inst)
	if err != nil {
		return nil, err
	}
	url := cfg[instance.KeyCallbackURL]
	switch {
	case !inst.EventsEnabled:
		return nil, &TestRefusedError{"the instance has events off (" + instance.KeyEventsEnabled + "): there is nothing to test"}
	case url == "":
		return nil, &TestRefusedError{"the instance has no callback URL (" + instance.KeyCallbackURL + "): there is nowhere to send a test"}
	}
	now := time.Now()
	if t.Now != nil {
		now = t.Now()
	}
	resource, sample, err := t.sample(ctx, inst, cfg, now)
	if err != nil {
		return nil, err
	}
	hub := ""
	if t.Instances.Elements != nil {
		if el, ok := t.Instances.Elements.Get(inst.ElementKey); ok {
			hub = el.Info().Hub
		}
	}
	m := Meta{OrgID: inst.OrgID, UserID: inst.UserID, InstanceID: inst.ID, InstanceName: inst.Name, InstanceTags: inst.Tags,
		ElementKey: inst.ElementKey, HubKey: hub}
	n, err := BuildTest(m, resource, sample, now, NewID())
	if err != nil {
		return nil, err
	}
	ts := targets{store: t.Store, instances: t.Instances}
	tg, err := ts.get(ctx, inst.ID)
	if err != nil {
		return nil, err
	}
	h := tg.headers.Clone()
	Sign(h, tg.key, n.ID, n.Body, time.Now())
	h.Set(HeaderTest, "true")
	at := now
	res := t.Sender.Send(ctx, url, h, n.Body)
	d := &store.TestDelivery{OrgID: orgID, InstanceID: inst.ID, URL: url, NotificationID: n.ID, Resource: resource, Body: n.Body,
		Signature: h.Get("Elements-Webhook-Signature"), At: at, StatusCode: res.Status, Latency: res.Latency, Error: res.Err,
		Response: res.Response}
	if err := t.Store.InsertTestDelivery(context.WithoutCancel(ctx), d); err != nil {
		return nil, err
	}
	return d, nil
}

// sample is the test's event: the record of the instance's most recent
// event of a polled resource, or else a small synthetic record of its
// first polled resource carrying only the resource's idField.
func (t *Tester) sample(ctx context.Context, inst *store.Instance, cfg map[string]string, now time.Time) (string, *store.Event, error) {
	var resources []string
	idFields := map[string]string{}
	// The configuration was validated when it was set: every resource has
	// its idField (required). Read leniently, it cannot stop a test.
	var pc map[string]struct {
		IDField string `json:"idField"`
	}
	json.Unmarshal([]byte(cfg[instance.KeyPollerConfig]), &pc)
	for name, r := range pc {
		idFields[name] = r.IDField
	}
	polls, err := t.Store.PollsOf(ctx, inst.ID)
	if err != nil {
		return "", nil, err
	}
	for _, p := range polls {
		resources = append(resources, p.Resource)
	}
	e := &store.Event{ID: NewID(), OrgID: inst.OrgID, InstanceID: inst.ID, Type: store.EventUpdated, Date: now, PollDate: now,
		Status: "TEST"}
	if len(resources) > 0 {
		last, err := t.Store.LatestEvent(ctx, inst.ID, resources...)
		switch {
		case err == nil && json.Valid([]byte(last.ProviderData)):
			e.Resource, e.ObjectID, e.Type, e.ProviderData = last.Resource, last.ObjectID, last.Type, last.ProviderData
			return e.Resource, e, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return "", nil, err
		}
		e.Resource = resources[0]
	} else {
		// Not polled yet: the configuration's first resource, if any.
		for name := range idFields {
			if e.Resource == "" || name < e.Resource {
				e.Resource = name
			}
		}
		if e.Resource == "" {
			e.Resource = "test"
		}
	}
	e.ObjectID = testObjectID
	e.ProviderData = string(syntheticRecord(idFields[e.Resource], testObjectID))
	return e.Resource, e, nil
}

// syntheticRecord is {"<idField>": id}, nested along the dot path
// ("user.id" → {"user":{"id":id}}); idField "" means "id".
func syntheticRecord(idField, id string) []byte {
	if idField == "" {
		idField = "id"
	}
	parts := strings.Split(idField, ".")
	var v any = id
	for i := len(parts) - 1; i >= 0; i-- {
		v = map[string]any{parts[i]: v}
	}
	b, _ := json.Marshal(v)
	return b
}
