package console

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/instance"
)

var defaults = json.RawMessage(`{"contacts": {"idField": "CONTACT_ID"}, "accounts": {"idField": "ORGANISATION_ID"}, "leads": {"idField": "LEAD_ID"}}`)

// The checkboxes edit the JSON; keys the form does not show survive, and
// text nobody changed is kept byte for byte.
func TestSyncResources(t *testing.T) {
	t.Parallel()
	typed := "{\n  \"contacts\": {\"idField\": \"CONTACT_ID\", \"overlap\": 90},\n  \"tasks\": {}\n}"
	shown := []string{"contacts", "accounts", "leads", "tasks"}
	if got := syncResources(typed, defaults, shown, []string{"contacts", "tasks"}, ""); got != typed {
		t.Errorf("nothing changed, yet the text did:\n%s", got)
	}
	got := syncResources(typed, defaults, shown, []string{"contacts", "leads"}, "Projects")
	var cfg map[string]map[string]any
	if err := json.Unmarshal([]byte(got), &cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg["tasks"]; ok {
		t.Error("an unchecked resource stayed")
	}
	if cfg["leads"]["idField"] != "LEAD_ID" || cfg["contacts"]["overlap"] != float64(90) || cfg["Projects"] == nil {
		t.Errorf("after checking leads and adding Projects: %v", cfg)
	}
	// A resource typed into the JSON after the page was drawn had no
	// checkbox: it is kept.
	late := `{"contacts": {}, "notes": {}}`
	if got := syncResources(late, defaults, []string{"contacts"}, []string{"contacts"}, ""); got != late {
		t.Errorf("a resource without a checkbox was dropped: %s", got)
	}
	// JSON that does not parse is the API's to judge.
	if got := syncResources(`{"contacts": `, defaults, shown, nil, "x"); got != `{"contacts": ` {
		t.Errorf("broken JSON was rewritten: %s", got)
	}
}

func TestResourcesOf(t *testing.T) {
	t.Parallel()
	rs := resourcesOf(defaults, `{"leads": {}, "tasks": {}}`)
	var got []string
	for _, r := range rs {
		got = append(got, r.Name+map[bool]string{true: "+", false: "-"}[r.Checked])
	}
	if strings.Join(got, " ") != "contacts- accounts- leads+ tasks+" {
		t.Errorf("checkboxes %v", got)
	}
}

func TestFormBody(t *testing.T) {
	t.Parallel()
	v := url.Values{"name": {"N"}, "apiKey": {"k"}, "pod": {"url"}, "baseUrl": {"https://x.example/v3.1"}, "events": {"on"},
		"callbackUrl": {"https://hook.example/h"}, "interval": {"7"}, "pollerConfig": {`{"contacts": {}}`},
		"shown": {"contacts", "accounts", "leads"}, "resource": {"contacts"}, "tags": {" a, b ,, "}}
	f := formFromRequest(v, defaults)
	var body struct {
		Name          string
		Tags          []string
		Configuration map[string]any
	}
	if err := json.Unmarshal(f.body(), &body); err != nil {
		t.Fatal(err)
	}
	c := body.Configuration
	if body.Name != "N" || strings.Join(body.Tags, "|") != "a|b" || c["password"] != "k" || c["base.url"] != "https://x.example/v3.1" ||
		c["insightly.pod"] != nil || c["event.notification.enabled"] != true || c["event.poller.refresh_interval"] != "7" {
		t.Errorf("body %+v", body)
	}
	if _, ok := c["insightly.pod"]; ok {
		t.Error("a new instance's body names a pod it does not use")
	}
	// Editing with a blank API key keeps the stored one (PATCH leaves it
	// out) and clears the pod the URL replaces.
	f.ID, f.APIKey = 9, ""
	body.Configuration = nil
	json.Unmarshal(f.body(), &body)
	if _, sent := body.Configuration["password"]; sent {
		t.Error("a blank API key was sent on edit")
	}
	if v, ok := body.Configuration["insightly.pod"]; !ok || v != nil {
		t.Errorf("editing to an API URL does not clear the pod: %v %v", v, ok)
	}
}

// Each error goes beside its field; errors inside the JSON point at
// their line.
func TestPlaceErrors(t *testing.T) {
	t.Parallel()
	f := newForm(defaults)
	f.Poller = "{\n  \"contacts\": {\n    \"datesConfiguration\": {\n      \"updatedDateFormat\": \"qqq\"\n    }\n  }\n}"
	err := &instance.Error{Status: 400, Message: "configuration.event.notification.callback.url: must be http", Fields: []instance.FieldError{
		{Field: "configuration.event.notification.callback.url", Message: "must be http"},
		{Field: "configuration.event.poller.configuration.contacts.datesConfiguration.updatedDateFormat", Message: "bad pattern"},
		{Field: "configuration.event.notification.callback.headers", Message: "bad headers"},
	}}
	f.place(err)
	if f.Errors["callbackUrl"] != "must be http" {
		t.Errorf("callback URL error: %q", f.Errors["callbackUrl"])
	}
	if !strings.HasPrefix(f.Errors["pollerConfig"], "line 4: contacts.datesConfiguration.updatedDateFormat: bad pattern") {
		t.Errorf("JSON error: %q", f.Errors["pollerConfig"])
	}
	if len(f.Other) != 1 || !strings.Contains(f.Other[0], "callback.headers") {
		t.Errorf("an error the form has no input for: %v", f.Other)
	}
	f.place(errors.New("Insightly did not answer"))
	if len(f.Other) != 1 || f.Other[0] != "Insightly did not answer" {
		t.Errorf("an error naming no field: %v", f.Other)
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/instances/3": "/instances/3", "": "/instances", "//evil.example": "/instances",
		"https://evil.example/": "/instances", "/\\evil": "/instances", "/x\r\nSet-Cookie: a": "/instances"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
