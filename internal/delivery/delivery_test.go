package delivery

import (
	"net/netip"

	"bytes"
	"context"
	"encoding/json"
	"flag"
	"github.com/pollhook/pollhook/internal/netguard/netguardtest"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pollhook/pollhook/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The documented test vector (spec §4.3).
func TestElementsSignatureVector(t *testing.T) {
	t.Parallel()
	if got := ElementsSignature("MySecretEventSignatureKey", []byte("<INSERT_EVENT_NOTIFICATION_RESPONSE_BODY>")); got != "sha256=jHdbRx5EZAsOfTwAPJOGkNUzQMVVdu5VJlxcsk+G6jQ=" {
		t.Errorf("signature %s", got)
	}
	if got := ElementsSignature("MySecretEventSignatureKey", nil); got != "sha256=C0gHWF2AgEYRn772QwLINL7VFZDYhJSOYgzFLE6vs4Q=" {
		t.Errorf("empty body %s", got)
	}
}

// The Standard Webhooks library verifies what Sign writes.
func TestStandardWebhooksVerify(t *testing.T) {
	t.Parallel()
	key, body := "a signature key of any length", []byte(`{"hello":"world"}`)
	h := http.Header{}
	Sign(h, key, "msg_1", body, time.Now())
	wh, err := standardwebhooks.NewWebhook(StandardSecret(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, h); err != nil {
		t.Errorf("standardwebhooks rejects the signature: %v", err)
	}
	if err := wh.Verify([]byte(`{"hello":"World"}`), h); err == nil {
		t.Error("a changed body verified")
	}
	if h.Get("Elements-Webhook-Id") != "msg_1" || h.Get("Elements-Webhook-Signature") != ElementsSignature(key, body) {
		t.Errorf("headers %v", h)
	}
}

// The envelope's shape is pinned by a golden file.
func TestEnvelopeGolden(t *testing.T) {
	t.Parallel()
	poll := time.Date(2018, 8, 20, 15, 29, 34, 827e6, time.UTC)
	var events []*store.Event
	for i := range 12 {
		events = append(events, &store.Event{ObjectID: json.Number(rune('A' + i)).String(), Type: "UPDATED",
			Date: time.Date(2018, 8, 20, 15, 29, i, 0, time.UTC), PollDate: poll,
			ProviderData: `{"CONTACT_ID": ` + string(rune('0'+i%10)) + `, "NOTE": "<&>"}`})
	}
	events[0].Type = "CREATED"
	n := 0
	ids := func() string { n++; return "n" + string(rune('0'+n)) }
	m := Meta{OrgID: 291, UserID: 2749, InstanceID: 7950647, InstanceName: "Local insightly", InstanceTags: []string{"prod"},
		ElementKey: "insightly", HubKey: "crm"}
	ns, err := Build(m, "contacts", events, time.Date(2018, 8, 20, 15, 30, 7, 0, time.UTC), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || len(ns[0].Events) != 10 || len(ns[1].Events) != 2 {
		t.Fatalf("chunks: %d", len(ns))
	}
	var got bytes.Buffer
	for _, x := range ns {
		got.Write(x.Body)
		got.WriteByte('\n')
		if !json.Valid(x.Body) {
			t.Errorf("invalid JSON: %s", x.Body)
		}
	}
	golden := filepath.Join("testdata", "envelope.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, got.Bytes(), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("the envelope changed; run go test ./internal/delivery -update and review:\n%s", got.String())
	}
	for _, key := range []string{`"severity":"medium","createdDate":"Mon Aug 20 15:30:07 UTC 2018","topic":"instance-7950647-insightly-events","action":"create","id":"n1"`,
		`"instanceId":7950647,"instance_id":7950647`, `"raw":{"contacts":[`, `"pollDate":1534778974827,"objectType":"contacts"}`,
		`"user":"notifications@cloud-elements.com"`, `"pollDate":"2018-08-20T15:29:34Z","eventType":"CREATED","hubKey":"crm"`} {
		if !strings.Contains(string(ns[0].Body), key) {
			t.Errorf("the envelope lacks %s", key)
		}
	}
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	half := func() float64 { return 0.5 } // no jitter
	for i, want := range ScheduleDefault {
		at, suspend := Next(ScheduleDefault, i+1, t0, t0, 0, half)
		if suspend || !at.Equal(t0.Add(want)) {
			t.Errorf("failure %d: %s %v, want +%s", i+1, at, suspend, want)
		}
	}
	if _, suspend := Next(ScheduleDefault, 6, t0, t0, 0, half); !suspend {
		t.Error("six failures do not suspend")
	}
	if at, _ := Next(ScheduleDefault, 1, t0, t0, time.Minute, half); !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("Retry-After ignored: %s", at)
	}
	lo, _ := Next(ScheduleDefault, 2, t0, t0, 0, func() float64 { return 0 })
	hi, _ := Next(ScheduleDefault, 2, t0, t0, 0, func() float64 { return 1 })
	if lo.Sub(t0) != 57600*time.Millisecond || hi.Sub(t0) != 70400*time.Millisecond {
		t.Errorf("jitter bounds %s %s", lo.Sub(t0), hi.Sub(t0))
	}
}

func TestSenderRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer recv.Close()
	strict := NewSender(false, time.Second)
	for _, u := range []string{recv.URL, "http://[::1]:1/", "http://10.0.0.1:1/", "http://169.254.169.254/latest/meta-data",
		"http://localhost:" + strings.Split(recv.URL, ":")[2] + "/"} {
		r := strict.Send(context.Background(), u, http.Header{}, []byte("{}"))
		if r.Status != 0 || !strings.Contains(r.Err, "not on the public Internet") {
			t.Errorf("%s: %+v", u, r)
		}
	}
	// The shared table: every blocked address is refused before any
	// packet leaves; a public one gets past the guard (and then times out
	// or fails to route here, which is not the guard's doing).
	for _, c := range netguardtest.Cases {
		ip := netip.MustParseAddr(c.Addr).WithZone("")
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		r := strict.Send(ctx, "http://"+netip.AddrPortFrom(ip, 80).String()+"/hook", http.Header{}, []byte("{}"))
		cancel()
		if blocked := strings.Contains(r.Err, "not on the public Internet"); blocked == c.Public {
			t.Errorf("%s (%s): %+v, want public=%v", c.Addr, c.Why, r, c.Public)
		}
	}
	if r := NewSender(true, time.Second).Send(context.Background(), recv.URL, http.Header{}, []byte("{}")); !r.OK() {
		t.Errorf("allowed: %+v", r)
	}
}

func TestSenderDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	hit := false
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	r := NewSender(true, time.Second).Send(context.Background(), redirect.URL, http.Header{}, []byte("{}"))
	if r.OK() || r.Status != http.StatusTemporaryRedirect || hit {
		t.Errorf("redirect: %+v, followed %v", r, hit)
	}
}

func TestSenderTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	r := NewSender(true, 200*time.Millisecond).Send(context.Background(), hang.URL, http.Header{}, []byte("{}"))
	if r.OK() || r.Status != 0 || r.Err == "" {
		t.Errorf("a hang: %+v", r)
	}
}

// An UPDATED with a field diff carries it in its event of the envelope,
// after Cloud Elements' keys; an event without one has no such key.
func TestEnvelopeCarriesChangedFields(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	diff := json.RawMessage(`{"OPPORTUNITY_STATE":{"before":"OPEN","after":"WON"}}`)
	evs := []*store.Event{
		{ID: "a", ObjectID: "1", Type: "UPDATED", Date: now, PollDate: now, ProviderData: `{"OPPORTUNITY_ID":1}`, ChangedFields: diff},
		{ID: "b", ObjectID: "2", Type: "CREATED", Date: now, PollDate: now, ProviderData: `{"OPPORTUNITY_ID":2}`},
	}
	ns, err := Build(Meta{InstanceID: 1, ElementKey: "insightly", HubKey: "crm"}, "opportunities", evs, now, func() string { return "n1" })
	if err != nil || len(ns) != 1 {
		t.Fatal(ns, err)
	}
	var env struct {
		Message struct {
			Events []map[string]json.RawMessage `json:"events"`
		} `json:"message"`
	}
	if err := json.Unmarshal(ns[0].Body, &env); err != nil {
		t.Fatal(err)
	}
	got := env.Message.Events
	if len(got) != 2 || string(got[0]["changedFields"]) != string(diff) {
		t.Errorf("the UPDATED's event: %s", got[0]["changedFields"])
	}
	if _, ok := got[1]["changedFields"]; ok {
		t.Error("a CREATED carries changedFields")
	}
	if i, j := bytes.Index(ns[0].Body, []byte(`"objectType":"opportunities","changedFields"`)), bytes.Index(ns[0].Body, []byte(`"changedFields"`)); i < 0 || i > j {
		t.Errorf("changedFields does not follow Cloud Elements' keys:\n%s", ns[0].Body)
	}
}
