package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// recordingServer is a real HTTP server that remembers every request's
// path and Authorization header.
type recordingServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	auths []string
}

func newRecordingServer(t *testing.T, h http.HandlerFunc) *recordingServer {
	r := &recordingServer{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.paths = append(r.paths, req.URL.Path)
		r.auths = append(r.auths, req.Header.Get("Authorization"))
		r.mu.Unlock()
		if h != nil {
			h(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"secret":"internal data","USER_ID":1,"EMAIL_ADDRESS":"x@internal"}`)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recordingServer) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}

func (r *recordingServer) authorizations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auths...)
}

func basic(key string) string {
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(key, "")
	return req.Header.Get("Authorization")
}

// Issue 13 §1: the Insightly API URL accepts Insightly's own hosts and
// the operator's --allow-upstream only; no tenant URL reaches a service
// on the server's network, not by redirect either, and a stored instance
// whose URL is no longer allowed is marked invalid and never dialled.
func TestUpstreamURLGuard(t *testing.T) {
	t.Parallel()
	internal := newRecordingServer(t, nil) // a service on the server's loopback: not allowed
	redirector := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/admin/users", http.StatusFound)
	})
	h := newHarness(t, withAllowUpstream(redirector.Listener.Addr().String()))

	refused := []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"base.url": internal.URL + "/v3.1"}, "configuration.base.url: " + internal.URL + " is not an Insightly API host"},
		{map[string]any{"base.url": internal.URL}, "--allow-upstream"},
		{map[string]any{"base.url": "https://api.na1.insightly.com.evil.example/v3.1"}, "is not an Insightly API host"},
		{map[string]any{"base.url": "http://api.na1.insightly.com/v3.1"}, "is not an Insightly API host"},
		{map[string]any{"base.url": "https://api.na1.insightly.com:8443/v3.1"}, "is not an Insightly API host"},
		{map[string]any{"base.url": "https://evil.example/api.na1.insightly.com"}, "is not an Insightly API host"},
		{map[string]any{"base.url": "https://xapi.na1.insightly.com/v3.1"}, "is not an Insightly API host"},
		{map[string]any{"base.url": "https://127.0.0.1/v3.1"}, "is not an Insightly API host"},
		{map[string]any{"base.url": nil, "insightly.pod": internal.URL}, "configuration.insightly.pod"},
		{map[string]any{"base.url": nil, "insightly.pod": "https://evil.example/?api.na1.insightly.com"}, "configuration.insightly.pod"},
		{map[string]any{"base.url": nil, "insightly.pod": "evil.example/api.na1.insightly.com"}, "configuration.insightly.pod"},
	}
	for _, c := range refused {
		resp, out := h.call("POST", "/instances", h.platform(), h.instanceBody("Probe", c.cfg))
		want(t, resp, out, 400, c.want)
	}
	// Allowed by the operator, but redirecting elsewhere: refused, and the
	// redirect is not followed.
	resp, out := h.call("POST", "/instances", h.platform(), h.instanceBody("Redirected", map[string]any{"base.url": redirector.URL + "/v3.1"}))
	want(t, resp, out, 502, "redirected to another host")
	if len(redirector.requests()) == 0 {
		t.Error("the allowed upstream was never called")
	}
	if got := internal.requests(); len(got) != 0 {
		t.Fatalf("the internal service was reached: %v", got)
	}

	// An instance stored by an earlier version (or before a change of
	// --allow-upstream) with a URL this server refuses.
	in, _ := h.create(h.instanceBody("Legacy", map[string]any{"event.poller.refresh_interval": "1"}))
	ctx := context.Background()
	// Let the first runs finish: a run-now asked for during a run is
	// served by that run, which read the configuration before the change.
	eventually(t, "the first runs", func() bool {
		polls, err := h.srv.store.PollsOf(ctx, in.ID)
		if err != nil || len(polls) == 0 {
			return false
		}
		for _, p := range polls {
			if p.LastRunAt.IsZero() {
				return false
			}
		}
		return true
	})
	stored, err := h.srv.store.Instance(ctx, 1, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range stored.Config {
		if it.Key == insightly.ConfigBaseURL {
			stored.Config[i].Value = internal.URL + "/v3.1"
		}
	}
	if err := h.srv.store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateInstance(ctx, stored) }); err != nil {
		t.Fatal(err)
	}
	// Hub calls refuse it without dialling.
	resp, out = h.call("GET", "/hubs/crm/contacts/1", h.hub(in.Token), nil)
	want(t, resp, out, 400, "is not an Insightly API host")
	resp, out = h.call("GET", "/hubs/crm/me", h.hub(in.Token), nil)
	want(t, resp, out, 400, "is not an Insightly API host")
	// Its polls mark it invalid with a reason that says so.
	var status struct {
		Valid         bool   `json:"valid"`
		InvalidReason string `json:"invalidReason"`
	}
	defer func() {
		if t.Failed() {
			t.Log(h.logs.String())
		}
	}()
	eventually(t, "the instance marked invalid", func() bool {
		// Asked again until it takes: a run-now made while River still
		// completes the last run's snooze is lost (issue 15, "requests
		// made during a run").
		h.call("POST", fmt.Sprintf("/instances/%d/polls/run", in.ID), h.platform(), nil)
		_, out := h.call("GET", fmt.Sprintf("/instances/%d/polls", in.ID), h.platform(), nil)
		json.Unmarshal(out, &status)
		return !status.Valid
	})
	if !strings.Contains(status.InvalidReason, "does not allow this instance's upstream URL") || !strings.Contains(status.InvalidReason, internal.URL) {
		t.Errorf("invalid reason %q", status.InvalidReason)
	}
	if got := internal.requests(); len(got) != 0 {
		t.Fatalf("the internal service was reached: %v", got)
	}

	// The start-up sweep does the same for instances that do not poll, and
	// revalidates one whose URL is allowed again.
	quiet, _ := h.create(h.instanceBody("Quiet", map[string]any{"event.notification.enabled": false}))
	q, _ := h.srv.store.Instance(ctx, 1, quiet.ID)
	for i, it := range q.Config {
		if it.Key == insightly.ConfigBaseURL {
			q.Config[i].Value = internal.URL + "/v3.1"
		}
	}
	h.srv.store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateInstance(ctx, q) })
	res, err := h.srv.instances.Sweep(ctx)
	if err != nil || res.Refused != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if q, _ = h.srv.store.Instance(ctx, 1, quiet.ID); q.Valid || !strings.Contains(q.InvalidReason, "does not allow") {
		t.Errorf("after the sweep: valid=%v reason=%q", q.Valid, q.InvalidReason)
	}
	if got := internal.requests(); len(got) != 0 {
		t.Fatalf("the internal service was reached: %v", got)
	}
}

// Issue 13 §2: a stored API key is only ever sent to the host it was
// entered for. Changing the API URL needs the key again, literally, on
// every route that changes configuration; so do the callback's secrets
// when the callback moves.
func TestStoredSecretsStayWithTheirHost(t *testing.T) {
	t.Parallel()
	attacker := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"Message":"who are you"}`)
	})
	// Even a host the operator allows gets no stored secret.
	h := newHarness(t, withAllowUpstream(attacker.Listener.Addr().String()))
	in, _ := h.create(h.instanceBody("Victim", map[string]any{
		"event.notification.basic.username": "hook", "event.notification.basic.password": "hook-secret",
		"event.notification.callback.headers": "Authorization: Bearer receiver-secret"}))
	id := fmt.Sprint(in.ID)
	evil := attacker.URL + "/v3.1"
	itemID := func(key string) string {
		_, out := h.call("GET", "/instances/"+id+"/configuration", h.platform(), nil)
		var items []struct {
			ID  int64
			Key string
		}
		json.Unmarshal(out, &items)
		for _, it := range items {
			if it.Key == key {
				return fmt.Sprint(it.ID)
			}
		}
		t.Fatalf("no item %s", key)
		return ""
	}
	baseItem := itemID("base.url")
	full := h.instanceBody("Victim", map[string]any{"base.url": evil, "password": "********"})
	cases := []struct {
		name, method, path, authz string
		body                      any
	}{
		{"PATCH, URL only", "PATCH", "/instances/" + id, h.platform(), map[string]any{"configuration": map[string]any{"base.url": evil}}},
		{"PATCH, masked key", "PATCH", "/instances/" + id, h.platform(), map[string]any{"configuration": map[string]any{"base.url": evil, "password": "********"}}},
		{"PATCH, pod", "PATCH", "/instances/" + id, h.platform(), map[string]any{"configuration": map[string]any{"base.url": nil, "insightly.pod": "eu1"}}},
		{"PUT, masked key", "PUT", "/instances/" + id, h.platform(), full},
		{"configuration item", "PATCH", "/instances/" + id + "/configuration/" + baseItem, h.platform(), map[string]any{"propertyValue": evil}},
		{"token PATCH", "PATCH", "/instances", h.tokenScoped(in.Token), map[string]any{"configuration": map[string]any{"base.url": evil}}},
		{"token PUT", "PUT", "/instances", h.tokenScoped(in.Token), full},
		{"token configuration item", "PATCH", "/instances/configuration/" + baseItem, h.tokenScoped(in.Token), map[string]any{"propertyValue": evil}},
	}
	for _, c := range cases {
		resp, out := h.call(c.method, c.path, c.authz, c.body)
		if resp.StatusCode != 400 || !strings.Contains(string(out), "configuration.password: must be given again") {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, out)
		}
	}
	if got := attacker.requests(); len(got) != 0 {
		t.Fatalf("the new host was called with the stored key: %v", got)
	}
	// Unchanged host, masked key: fine (a client round-tripping a GET).
	resp, out := h.call("PATCH", "/instances/"+id, h.platform(), map[string]any{"configuration": map[string]any{"base.url": h.simURL + "/", "password": "********"}})
	want(t, resp, out, 200, "")
	// A literal new key may go to the new host: only that one does.
	resp, out = h.call("PATCH", "/instances/"+id, h.platform(), map[string]any{"configuration": map[string]any{"base.url": evil, "password": "the-new-key"}})
	want(t, resp, out, 400, "refused the credentials")
	for _, a := range attacker.authorizations() {
		if a != basic("the-new-key") {
			t.Errorf("the new host received %q", a)
		}
	}
	if len(attacker.authorizations()) == 0 {
		t.Error("the literal key was never checked with the new host")
	}

	// The callback's password and headers follow the callback URL.
	other := newRecordingServer(t, nil)
	for _, body := range []map[string]any{
		{"event.notification.callback.url": other.URL + "/hook"},
		{"event.notification.callback.url": other.URL + "/hook", "event.notification.basic.password": "********"},
		{"event.notification.callback.url": other.URL + "/hook", "event.notification.basic.password": "new", "event.notification.callback.headers": "********"},
	} {
		resp, out := h.call("PATCH", "/instances/"+id, h.platform(), map[string]any{"configuration": body})
		want(t, resp, out, 400, "when event.notification.callback.url moves to another host")
	}
	resp, out = h.call("PATCH", "/instances/"+id, h.platform(), map[string]any{"configuration": map[string]any{
		"event.notification.callback.url": other.URL + "/hook", "event.notification.basic.password": "new-hook-secret",
		"event.notification.callback.headers": nil}})
	want(t, resp, out, 200, "")
	// Same host, another path: the secrets stay.
	resp, out = h.call("PATCH", "/instances/"+id, h.platform(), map[string]any{"configuration": map[string]any{
		"event.notification.callback.url": other.URL + "/hook2"}})
	want(t, resp, out, 200, "")
}

// Issue 13 §5: callback headers hold receivers' credentials: sealed at
// rest and masked in every answer, including those stored in clear by an
// earlier version until the start-up sweep seals them.
func TestCallbackHeadersSealedAndMasked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const secret = "Authorization: Bearer receiver-secret-123"
	in, out := h.create(h.instanceBody("Headers", map[string]any{"event.notification.callback.headers": secret}))
	if strings.Contains(string(out), "receiver-secret") || in.Configuration["event.notification.callback.headers"] != "********" {
		t.Fatalf("create answered %s", out)
	}
	for _, path := range []string{fmt.Sprintf("/instances/%d", in.ID), fmt.Sprintf("/instances/%d/configuration", in.ID)} {
		if _, out := h.call("GET", path, h.platform(), nil); strings.Contains(string(out), "receiver-secret") || !strings.Contains(string(out), "********") {
			t.Errorf("GET %s: %s", path, out)
		}
	}
	ctx := context.Background()
	stored, _ := h.srv.store.Instance(ctx, 1, in.ID)
	for _, it := range stored.Config {
		if it.Key == "event.notification.callback.headers" && (!it.Secret || strings.Contains(it.Value, "receiver-secret")) {
			t.Errorf("stored as %+v", it)
		}
	}
	if cfg, err := h.srv.instances.Config(stored); err != nil || cfg["event.notification.callback.headers"] != secret {
		t.Errorf("opened: %q %v", cfg["event.notification.callback.headers"], err)
	}

	// Stored in clear by an earlier version: masked at once, sealed by the sweep.
	for i, it := range stored.Config {
		if it.Key == "event.notification.callback.headers" {
			stored.Config[i].Value, stored.Config[i].Secret = secret, false
		}
	}
	h.srv.store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateInstance(ctx, stored) })
	if _, out := h.call("GET", fmt.Sprintf("/instances/%d", in.ID), h.platform(), nil); strings.Contains(string(out), "receiver-secret") {
		t.Errorf("legacy clear value shown: %s", out)
	}
	if res, err := h.srv.instances.Sweep(ctx); err != nil || res.Resealed != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	stored, _ = h.srv.store.Instance(ctx, 1, in.ID)
	for _, it := range stored.Config {
		if it.Key == "event.notification.callback.headers" && (!it.Secret || strings.Contains(it.Value, "receiver-secret")) {
			t.Errorf("after the sweep: %+v", it)
		}
	}
}
