package instance

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// fieldsOf checks that err is a 400 listing fields and returns them.
func fieldsOf(t *testing.T, err error) []FieldError {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Fatalf("got %v, want a 400", err)
	}
	if len(e.Fields) == 0 {
		t.Fatalf("400 %q lists no fields", e.Message)
	}
	if want := e.Fields[0].Field + ": " + e.Fields[0].Message; e.Message != want {
		t.Errorf("message %q is not the first field error %q", e.Message, want)
	}
	return e.Fields
}

func wantFields(t *testing.T, got []FieldError, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("fields = %+v, want %q", got, want)
	}
	for i, f := range want {
		if got[i].Field != f || got[i].Message == "" {
			t.Errorf("field %d = %+v, want %q", i, got[i], f)
		}
	}
}

// A create with several independent mistakes hears of all of them, the
// first in the words a one-error check used to say.
func TestCreateReportsEveryFieldError(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	ctx := context.Background()
	bad := withConfig(t, body, func(cfg map[string]any) {
		cfg[KeyCallbackURL] = "ftp://x"
		cfg[KeyRefreshInterval] = "0"
		r := resource()
		r["datesConfiguration"].(map[string]any)["updatedDateFormat"] = "yyyy-MM-dd HH:mm:qq"
		cfg[KeyPollerConfig] = map[string]any{"contacts": r}
	})
	_, err := svc.Create(ctx, c, "", bad)
	if got, want := err.Error(), `configuration.event.notification.callback.url: must be an http:// or https:// URL, not "ftp://x"`; got != want {
		t.Errorf("message = %q, want the old single message %q", got, want)
	}
	wantFields(t, fieldsOf(t, err),
		"configuration.event.notification.callback.url",
		"configuration.event.poller.refresh_interval",
		"configuration.event.poller.configuration.contacts.datesConfiguration.updatedDateFormat")

	// Name, tags and configuration are independent too; a key refused
	// for its type is not reported again as missing.
	_, err = svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) {
		cfg["password"] = map[string]any{"x": 1}
		cfg[KeyCallbackURL] = "ftp://x"
	}))
	wantFields(t, fieldsOf(t, err), "configuration.password", "configuration.event.notification.callback.url")

	_, err = svc.Create(ctx, c, "", []byte(`{"element": {"key": "insightly"}, "name": "<b></b>", "tags": ["ok", "", "<i></i>"],
		"configuration": {"event.notification.enabled": "yes"}}`))
	wantFields(t, fieldsOf(t, err), "name", "tags[1]", "tags[2]", "configuration.password", "configuration.event.notification.enabled")

	// The credentials are checked with the upstream only once the rest
	// is valid: a wrong key next to a bad callback is not reported yet.
	_, err = svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) {
		cfg["password"] = "not-the-key"
		cfg[KeyCallbackURL] = "ftp://x"
	}))
	wantFields(t, fieldsOf(t, err), "configuration.event.notification.callback.url")
	// Alone, it is a field error on the key.
	_, err = svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg["password"] = "not-the-key" }))
	wantFields(t, fieldsOf(t, err), "configuration.password")

	// A malformed body or an unknown element stops the checks there.
	_, err = svc.Create(ctx, c, "", []byte(`{"name": "x",`))
	wantFields(t, fieldsOf(t, err), "body")
	_, err = svc.Create(ctx, c, "", []byte(`{"element": {"key": "nope"}, "name": "", "configuration": {"event.poller.refresh_interval": "0"}}`))
	wantFields(t, fieldsOf(t, err), "element.key")
}
