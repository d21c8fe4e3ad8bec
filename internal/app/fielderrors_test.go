package app

import (
	"encoding/json"
	"strings"
	"testing"
)

// errorJSON is an API error body with its field errors.
type errorJSON struct {
	RequestID string `json:"requestId"`
	Message   string `json:"message"`
	Errors    []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func fieldErrors(t *testing.T, out []byte) errorJSON {
	t.Helper()
	var e errorJSON
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatalf("error body %s: %v", out, err)
	}
	if len(e.Errors) == 0 {
		t.Fatalf("error body %s lists no errors", out)
	}
	if first := e.Errors[0].Field + ": " + e.Errors[0].Message; e.Message != first {
		t.Errorf("message %q is not the first error %q", e.Message, first)
	}
	return e
}

func wantErrorFields(t *testing.T, e errorJSON, fields ...string) {
	t.Helper()
	var got []string
	for _, f := range e.Errors {
		got = append(got, f.Field)
	}
	if strings.Join(got, "\n") != strings.Join(fields, "\n") {
		t.Errorf("error fields = %q, want %q", got, fields)
	}
}

// A create with several mistakes answers 400 with all of them in errors,
// the first one's text as message, exactly as a one-error answer said it.
func TestCreateListsFieldErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.instanceBody("X", map[string]any{
		"event.notification.callback.url": "ftp://x/y",
		"event.poller.refresh_interval":   "often",
		"event.poller.configuration": map[string]any{"contacts": map[string]any{
			"url": "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'", "idField": "CONTACT_ID",
			"datesConfiguration": map[string]any{"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssXXX'"}}},
	})
	b["tags"] = []string{"<i></i>"}
	resp, out := h.call("POST", "/instances", h.platform(), b)
	want(t, resp, out, 400, "tags[0]: is empty (after removing HTML)")
	t.Logf("multi-error response: %s", out)
	e := fieldErrors(t, out)
	wantErrorFields(t, e, "tags[0]", "configuration.event.notification.callback.url",
		"configuration.event.poller.refresh_interval",
		"configuration.event.poller.configuration.contacts.datesConfiguration.updatedDateFormat")
	if m := e.Errors[1].Message; m != `must be an http:// or https:// URL, not "ftp://x/y"` {
		t.Errorf("callback error = %q", m)
	}

	// A refused API key is checked last, and is a field error too.
	resp, out = h.call("POST", "/instances", h.platform(),
		h.instanceBody("X", map[string]any{"password": "00000000-0000-0000-0000-000000000000"}))
	want(t, resp, out, 400, "configuration.password: Insightly refused the credentials")
	wantErrorFields(t, fieldErrors(t, out), "configuration.password")

	// The element's own checks (the API URL) and the callback's are field
	// errors, reported together.
	resp, out = h.call("POST", "/instances", h.platform(),
		h.instanceBody("X", map[string]any{"base.url": "ftp://x", "event.notification.callback.url": "http://u:p@example.com/"}))
	want(t, resp, out, 400, "configuration.base.url")
	wantErrorFields(t, fieldErrors(t, out), "configuration.base.url", "configuration.event.notification.callback.url")

	// Errors not about fields carry no list.
	for _, c := range []struct{ path, authz string }{{"/instances/999999", h.platform()}, {"/instances", ""}} {
		resp, out = h.call("GET", c.path, c.authz, nil)
		if resp.StatusCode < 400 || strings.Contains(string(out), `"errors"`) {
			t.Errorf("GET %s: %d %s, want an error without errors", c.path, resp.StatusCode, out)
		}
	}
	if n := h.countInstances(); n != 0 {
		t.Errorf("refused requests left %d instances behind", n)
	}
}

// A callback on a private address is a field error on the callback URL.
func TestPrivateCallbackIsAFieldError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withoutPrivateCallbacks())
	resp, out := h.call("POST", "/instances", h.platform(),
		h.instanceBody("X", map[string]any{"event.notification.callback.url": "http://10.1.2.3/x", "event.poller.refresh_interval": "0"}))
	want(t, resp, out, 400, "configuration.event.notification.callback.url")
	wantErrorFields(t, fieldErrors(t, out), "configuration.event.notification.callback.url", "configuration.event.poller.refresh_interval")
}
