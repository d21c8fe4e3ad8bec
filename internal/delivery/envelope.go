// Package delivery turns events into Cloud Elements notifications and
// delivers them: the outbox each callback's notifications wait in (held
// while it is suspended, replayed, reactivated), the pipeline that drains
// a callback in order with retries and suspension, the envelope, the
// signatures, the retry schedule and the SSRF-guarded sender. When a
// callback's queue is drained is package jobs' business: one job per
// callback calls Pipeline.Drain.
package delivery

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/javatime"
	"github.com/pollhook/pollhook/internal/store"
)

// MaxEvents is how many events one notification carries at most (spec §4.2).
const MaxEvents = 10

// Meta is what a notification says of its instance.
type Meta struct {
	OrgID        int64
	UserID       int64
	InstanceID   int64
	InstanceName string
	InstanceTags []string
	ElementKey   string // "insightly"
	HubKey       string // "crm"
}

// envelope is Cloud Elements' notification, keys in its order (spec §4.1).
type envelope struct {
	Severity    string  `json:"severity"`
	CreatedDate string  `json:"createdDate"`
	Topic       string  `json:"topic"`
	Action      string  `json:"action"`
	ID          string  `json:"id"`
	Message     message `json:"message"`
	User        string  `json:"user"`
}

type message struct {
	ElementKey   string   `json:"elementKey"`
	AccountID    int64    `json:"accountId"`
	EventID      string   `json:"eventId"`
	CompanyID    int64    `json:"companyId"`
	InstanceID   int64    `json:"instanceId"`
	InstanceID2  int64    `json:"instance_id"`
	InstanceName string   `json:"instanceName"`
	InstanceTags []string `json:"instanceTags"`
	Raw          raw      `json:"raw"`
	UserID       int64    `json:"userId"`
	Events       []event  `json:"events"`
}

type event struct {
	Date       string `json:"date"`
	ElementKey string `json:"elementKey"`
	PollDate   string `json:"pollDate"`
	EventType  string `json:"eventType"`
	HubKey     string `json:"hubKey"`
	ObjectID   string `json:"objectId"`
	ObjectType string `json:"objectType"`
	// ChangedFields (a pollhook extension) is an UPDATED's field diff,
	// with snapshots on: {"<field>": {"before": …, "after": …}}.
	ChangedFields json.RawMessage `json:"changedFields,omitempty"`
}

// raw is {"<objectType>": [records…], "pollDate": ms, "objectType": "…"}.
type raw struct {
	objectType string
	records    []json.RawMessage
	pollDate   time.Time
}

func (r raw) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	key, _ := json.Marshal(r.objectType)
	b.WriteByte('{')
	b.Write(key)
	b.WriteString(":[")
	for i, rec := range r.records {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(rec)
	}
	b.WriteString(`],"pollDate":`)
	b.WriteString(strconv.FormatInt(r.pollDate.UnixMilli(), 10))
	b.WriteString(`,"objectType":`)
	b.Write(key)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// javaDate is Java's Date.toString, which Cloud Elements writes in createdDate.
var javaDate = javatime.MustCompile("EEE MMM dd HH:mm:ss zzz yyyy")

const isoSeconds = "2006-01-02T15:04:05Z"

// Notification is one notification ready for the outbox.
type Notification struct {
	ID     string
	Body   []byte
	Events []*store.Event // the events it carries
}

// Build groups one resource's events of one run into notifications of at
// most MaxEvents, each carrying the records of its own events in raw (not
// the whole run's, to keep bodies small). id makes notification ids.
func Build(m Meta, resource string, events []*store.Event, now time.Time, id func() string) ([]Notification, error) {
	return build(m, resource, events, now, id, ActionCreate)
}

// Envelope actions: every notification says "create" (as Cloud Elements'
// do); a test notification says "test".
const (
	ActionCreate = "create"
	ActionTest   = "test"
)

// BuildTest is the envelope of a test notification: what Build makes of
// one event, with action "test".
func BuildTest(m Meta, resource string, e *store.Event, now time.Time, id string) (Notification, error) {
	ns, err := build(m, resource, []*store.Event{e}, now, func() string { return id }, ActionTest)
	if err != nil {
		return Notification{}, err
	}
	return ns[0], nil
}

func build(m Meta, resource string, events []*store.Event, now time.Time, id func() string, action string) ([]Notification, error) {
	var out []Notification
	for start := 0; start < len(events); start += MaxEvents {
		chunk := events[start:min(start+MaxEvents, len(events))]
		nid := id()
		env := envelope{Severity: "medium", CreatedDate: javaDate.Format(now.UTC()), Action: action, ID: nid,
			Topic: "instance-" + strconv.FormatInt(m.InstanceID, 10) + "-" + m.ElementKey + "-events",
			User:  "notifications@cloud-elements.com",
			Message: message{ElementKey: m.ElementKey, AccountID: m.OrgID, EventID: nid, CompanyID: m.OrgID,
				InstanceID: m.InstanceID, InstanceID2: m.InstanceID, InstanceName: m.InstanceName,
				InstanceTags: m.InstanceTags, UserID: m.UserID, Raw: raw{objectType: resource, pollDate: chunk[0].PollDate}}}
		if env.Message.InstanceTags == nil {
			env.Message.InstanceTags = []string{}
		}
		for _, e := range chunk {
			env.Message.Events = append(env.Message.Events, event{Date: e.Date.UTC().Format(isoSeconds), ElementKey: m.ElementKey,
				PollDate: e.PollDate.UTC().Format(isoSeconds), EventType: e.Type, HubKey: m.HubKey, ObjectID: e.ObjectID,
				ObjectType: resource, ChangedFields: e.ChangedFields})
			env.Message.Raw.records = append(env.Message.Raw.records, json.RawMessage(e.ProviderData))
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(env); err != nil {
			return nil, err
		}
		out = append(out, Notification{ID: nid, Body: bytes.TrimRight(b.Bytes(), "\n"), Events: chunk})
	}
	return out, nil
}
