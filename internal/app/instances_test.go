package app

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/jsonschema"
	"github.com/pollhook/pollhook/internal/store"
)

// The documented "Configure Polling Through API" body, with real values in
// place of its placeholders, creates an instance polling all four resources.
func TestDocumentedBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fill := func(b []byte) string {
		s := strings.ReplaceAll(string(b), "<Insightly API key>", h.sim.APIKey())
		s = strings.ReplaceAll(s, "<CALLBACK_URL>", h.hook)
		// The simulator stands in for api.na1.insightly.com.
		return strings.Replace(s, `"username":`, `"base.url": "`+h.simURL+`", "username":`, 1)
	}
	in, raw := h.create(fill(readTestdata(t, "configure-polling.json")))
	if in.Name != "API Instance" || !slices.Equal(in.Tags, []string{"Docs"}) || !in.Valid || !in.EventsEnabled || in.Token == "" || in.ElementID != 5993 {
		t.Errorf("instance %s", raw)
	}
	if in.Configuration["password"] != "********" || in.Configuration["event.notification.signature.key"] != "********" {
		t.Errorf("secrets not masked: %v", in.Configuration)
	}
	var pc map[string]struct {
		URL     string `json:"url"`
		IDField string `json:"idField"`
	}
	if err := json.Unmarshal([]byte(in.Configuration["event.poller.configuration"]), &pc); err != nil {
		t.Fatalf("poller configuration %q: %v", in.Configuration["event.poller.configuration"], err)
	}
	for res, id := range map[string]string{"contacts": "CONTACT_ID", "accounts": "ORGANISATION_ID", "leads": "LEAD_ID", "opportunities": "OPPORTUNITY_ID"} {
		if pc[res].IDField != id || !strings.Contains(pc[res].URL, "/hubs/crm/"+res) {
			t.Errorf("resource %s: %+v", res, pc[res])
		}
	}
	errs, err := jsonschema.Validate(readTestdata(t, "element.instance.schema.json"), raw)
	if err != nil || len(errs) != 0 {
		t.Errorf("instance does not validate against Cloud Elements' schema: %v %v", errs, err)
	}

	// The cURL example's body lacks a comma after "password": say where.
	resp, out := h.call("POST", "/instances", h.platform(), fill(readTestdata(t, "curl-body.txt")))
	want(t, resp, out, 400, "is not valid JSON")
	if !strings.Contains(string(out), "line 8") || !strings.Contains(string(out), `password`) {
		t.Errorf("the error does not say where the JSON broke: %s", out)
	}
	if n := h.countInstances(); n != 1 {
		t.Errorf("%d instances after a refused body, want 1", n)
	}
	// No secret reached the log.
	for _, secret := range []string{h.sim.APIKey(), "my-signature-key", h.creds.User, h.creds.Organization, in.Token} {
		if strings.Contains(h.logs.String(), secret) {
			t.Errorf("the log contains a secret: %.8s…", secret)
		}
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	in, _ := h.create(h.instanceBody("A", nil))
	cases := []struct {
		name, method, path, authz, fragment string
	}{
		{"no header", "GET", "/instances", "", "missing"},
		{"wrong user", "GET", "/instances", "User nope, Organization " + h.creds.Organization, "User secret is not valid"},
		{"wrong org", "GET", "/instances", "User " + h.creds.User + ", Organization nope", "Organization secret is not valid"},
		{"no org", "GET", "/instances", "User " + h.creds.User, "needs an Organization"},
		{"bad scheme", "GET", "/instances", "Bearer x", "unknown scheme"},
		{"token route without token", "GET", "/instances/configuration", h.platform(), "needs 'Element"},
		{"hub without token", "GET", "/hubs/crm/contacts", "User " + h.creds.User, "needs 'Element"},
		{"hub with a wrong token", "GET", "/hubs/crm/contacts", h.hub("nope"), "matches no instance"},
		{"hub with a wrong user", "GET", "/hubs/crm/contacts", "User nope, Element " + in.Token, "User secret is not valid"},
	}
	for _, tc := range cases {
		resp, out := h.call(tc.method, tc.path, tc.authz, nil)
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, out)
			continue
		}
		want(t, resp, out, 401, tc.fragment)
	}
	resp, out := h.call("GET", "/nope", h.platform(), nil)
	want(t, resp, out, 404, "no such endpoint")
	resp, out = h.call("POST", "/instances/1", h.platform(), nil)
	want(t, resp, out, 405, "not supported")
}

// No 401 or 400 repeats any part of the Authorization header: a mangled
// header is often a secret whose scheme went missing. The secrets are
// fixed, real ones (a user and organization made with them) among them,
// so the check never fails by chance on four random characters.
func TestAuthErrorsRepeatNoSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const (
		u  = "Y8pLwdDq3ZxK7vQj9mRt2WfHb6NcTs4Ge1Ua0Ki5Po="
		o  = "Zq7XvB2nM9kW4rT8yP3sL6dF1hJ5gC0aE+uI/oQxVc="
		e  = "Hk3Rw9Tz+Bq7Mv2Xn8Yp/Jd5Lf1Gs4Cu6Ea0Io9Ub="
		nu = "ßëçrêtÜñî©ødé€ŁøñgŠêçrėt"
	)
	ctx := context.Background()
	org := &store.Organization{Name: "fixed", SecretHash: auth.Hash(o)}
	if err := h.srv.store.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.store.CreateUser(ctx, &store.User{OrgID: org.ID, Email: "fixed@example.com", SecretHash: auth.Hash(u)}); err != nil {
		t.Fatal(err)
	}
	resp, out := h.call("GET", "/instances", "User "+u+", Organization "+o, nil)
	want(t, resp, out, 200, "") // the secrets are real

	long := strings.Repeat(u, 100)
	headers := []string{
		"User\t" + u + ", Organization\t" + o + ", Element\t" + e,
		"User\t" + u,
		"User " + u + " Organization " + o,
		"User " + u + ", Organization " + o + " Element " + e,
		"User " + u + " " + e,
		u,
		u + ", " + o,
		u + " " + o,
		"Bearer " + u,
		"Basic " + u + o,
		"User:" + u + ", Organization:" + o,
		"User=" + u,
		"Usr " + u + ", Organization " + o,
		u[:20] + " " + u[20:],
		"User " + u + "; Organization " + o,
		"User " + u + ",, Organization " + o,
		"User " + u + ", User " + o,
		"User " + u + ", Organization " + o + ", Element " + e + ", Extra " + e,
		"User " + u + ", Organization",
		"User " + u + ", " + o,
		"User " + u + ", Element " + e + ", " + o,
		"User " + long,
		long,
		"User " + u + ", Organization " + long + ", Element " + long,
		"User " + nu + ", Organization " + o,
		"User " + u + ", Organization " + nu + ", Element " + nu,
		nu + " " + u,
		"Ûser " + u,
		"User " + u + "\t" + o,
		"\t" + u + "\t",
		"User " + o + ", Organization " + u, // swapped
		"User " + u + ", Organization " + e,
		"User " + u + ", Element " + e,
		"User " + u + ", Organization " + o + ", Element " + e,
		"Organization " + o + ", Element " + e,
	}
	secrets := []string{u, o, e, nu}
	for _, path := range []string{"/instances", "/instances/configuration", "/hubs/crm/contacts"} {
		for _, header := range headers {
			if path == "/instances" && (header == "User "+u+", Organization "+o+", Element "+e ||
				header == "User\t"+u+", Organization\t"+o+", Element\t"+e) {
				continue // valid there: tabs separate as spaces do
			}
			resp, out := h.call("GET", path, header, nil)
			var body struct{ Message string }
			json.Unmarshal(out, &body)
			if resp.StatusCode != 401 && resp.StatusCode != 400 || body.Message == "" {
				t.Errorf("GET %s with %.12q…: %d %s", path, header, resp.StatusCode, out)
				continue
			}
			for _, s := range secrets {
				r := []rune(s)
				for i := 0; i+4 <= len(r); i++ {
					if strings.Contains(body.Message, string(r[i:i+4])) {
						t.Errorf("GET %s with %.12q…: the message repeats %q: %s", path, header, string(r[i:i+4]), body.Message)
						break
					}
				}
			}
		}
	}
}

func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a, _ := h.create(h.instanceBody("Alpha <b>CRM</b>", map[string]any{"event.notification.signature.key": "sig-1"}))
	if a.Name != "Alpha CRM" {
		t.Errorf("name not sanitized: %q", a.Name)
	}
	b, _ := h.create(h.instanceBody("Beta", nil))
	if b.Configuration["event.notification.signature.key"] != "********" {
		t.Errorf("no signature key generated: %v", b.Configuration)
	}
	path := fmt.Sprintf("/instances/%d", a.ID)

	// List with filters.
	for q, wantNames := range map[string][]string{"": {"Alpha CRM", "Beta"}, "?searchText=bet": {"Beta"}, "?tags[]=test": {"Alpha CRM", "Beta"}, "?tags[]=nope": {}} {
		resp, out := h.call("GET", "/instances"+q, h.platform(), nil)
		want(t, resp, out, 200, "")
		var list []instanceJSON
		json.Unmarshal(out, &list)
		var names []string
		for _, in := range list {
			names = append(names, in.Name)
		}
		if !slices.Equal(names, wantNames) && !(len(names) == 0 && len(wantNames) == 0) {
			t.Errorf("GET /instances%s: %v, want %v", q, names, wantNames)
		}
	}

	// PATCH merges configuration, replaces tags, null removes a key; a
	// masked secret sent back keeps its value.
	resp, out := h.call("PATCH", path, h.platform(), map[string]any{"tags": []string{"x", "y"},
		"configuration": map[string]any{"event.poller.refresh_interval": 7, "password": "********", "custom.setting": nil}})
	want(t, resp, out, 200, "")
	var got instanceJSON
	json.Unmarshal(out, &got)
	if got.Configuration["event.poller.refresh_interval"] != "7" || !slices.Equal(got.Tags, []string{"x", "y"}) || got.Name != "Alpha CRM" || !got.Valid {
		t.Errorf("after PATCH: %s", out)
	}
	// The key is still the working one: hub calls succeed.
	resp, out = h.call("GET", "/hubs/crm/contacts?pageSize=5", h.hub(a.Token), nil)
	want(t, resp, out, 200, "")

	// PUT replaces: name and configuration required.
	resp, out = h.call("PUT", path, h.platform(), map[string]any{"name": "Only name"})
	want(t, resp, out, 400, "configuration: is required in a PUT")
	put := h.instanceBody("Replaced", nil)
	put["configuration"].(map[string]any)["password"] = "********"
	delete(put, "tags")
	resp, out = h.call("PUT", path, h.platform(), put)
	want(t, resp, out, 200, "")
	json.Unmarshal(out, &got)
	if got.Name != "Replaced" || len(got.Tags) != 0 || got.Configuration["event.poller.refresh_interval"] != "5" {
		t.Errorf("after PUT: %s", out)
	}

	// Configuration items keep their IDs; one can be patched by ID.
	resp, out = h.call("GET", path+"/configuration", h.platform(), nil)
	want(t, resp, out, 200, "")
	var items []struct {
		ID            int64  `json:"id"`
		Key           string `json:"key"`
		PropertyValue string `json:"propertyValue"`
	}
	json.Unmarshal(out, &items)
	var intervalID int64
	for _, it := range items {
		if it.Key == "password" && it.PropertyValue != "********" {
			t.Errorf("configuration item leaks the password")
		}
		if it.Key == "event.poller.refresh_interval" {
			intervalID = it.ID
		}
	}
	resp, out = h.call("PATCH", fmt.Sprintf("%s/configuration/%d", path, intervalID), h.platform(), map[string]any{"propertyValue": "30"})
	want(t, resp, out, 200, "")
	if !strings.Contains(string(out), `"propertyValue":"30"`) || !strings.Contains(string(out), fmt.Sprintf(`"id":%d`, intervalID)) {
		t.Errorf("patched item: %s", out)
	}
	resp, out = h.call("PATCH", fmt.Sprintf("%s/configuration/%d", path, intervalID), h.platform(), map[string]any{"propertyValue": "0"})
	want(t, resp, out, 400, "event.poller.refresh_interval: must be a whole number of minutes, at least 1")
	resp, out = h.call("GET", fmt.Sprintf("%s/configuration/%d", path, 999999), h.platform(), nil)
	want(t, resp, out, 404, "no such configuration item")

	// Token-scoped variants act on the token's instance.
	resp, out = h.call("GET", "/instances/configuration", h.tokenScoped(b.Token), nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("PATCH", "/instances", h.tokenScoped(b.Token), map[string]any{"name": "Beta 2"})
	want(t, resp, out, 200, "")
	if !strings.Contains(string(out), `"name":"Beta 2"`) {
		t.Errorf("token PATCH: %s", out)
	}

	// Disable: hub calls are refused; enable again.
	resp, out = h.call("DELETE", "/instances/enabled", h.tokenScoped(b.Token), nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("GET", "/hubs/crm/contacts", h.hub(b.Token), nil)
	want(t, resp, out, 403, "disabled")
	if resp.Header.Get("Elements-Element-Instance-Id") != fmt.Sprint(b.ID) {
		t.Errorf("instance header %q", resp.Header.Get("Elements-Element-Instance-Id"))
	}
	resp, out = h.call("PUT", fmt.Sprintf("/instances/%d/enabled", b.ID), h.platform(), nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("GET", "/hubs/crm/contacts", h.hub(b.Token), nil)
	want(t, resp, out, 200, "")

	// Delete: gone, and its token no longer works.
	resp, out = h.call("DELETE", path, h.platform(), nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("GET", path, h.platform(), nil)
	want(t, resp, out, 404, "no such instance")
	resp, out = h.call("GET", "/hubs/crm/contacts", h.hub(a.Token), nil)
	want(t, resp, out, 401, "matches no instance")
}

// Names and tags are stored without markup, however it was encoded, and
// come back that way from every call that shows them.
func TestInstanceNamesAndTagsHoldNoMarkup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := h.instanceBody("CRM &lt;img src=x onerror=alert(1)&gt; &#60;script&#62;x &lt; y", nil)
	body["tags"] = []string{"&amp;lt;b&amp;gt;vip", "<<b>script>", "<img src=x onerror=alert(1)"}
	in, out := h.create(body)
	wantName, wantTags := "CRM  x < y", []string{"vip", "script>", "img src=x onerror=alert(1)"}
	if in.Name != wantName || !slices.Equal(in.Tags, wantTags) {
		t.Errorf("created: name %q, tags %q", in.Name, in.Tags)
	}
	path := fmt.Sprintf("/instances/%d", in.ID)
	resp, out := h.call("PATCH", path, h.platform(), map[string]any{"name": "&#x3c;svg onload=alert(1)&#x3e;Renamed &amp;lt;/b&amp;gt;"})
	want(t, resp, out, 200, "")
	resp, out = h.call("GET", path, h.platform(), nil)
	want(t, resp, out, 200, "")
	var got instanceJSON
	json.Unmarshal(out, &got)
	if got.Name != "Renamed" || !slices.Equal(got.Tags, wantTags) {
		t.Errorf("after PATCH: name %q, tags %q", got.Name, got.Tags)
	}
	markup := regexp.MustCompile(`<[A-Za-z/!?]`)
	for _, s := range append([]string{got.Name}, got.Tags...) {
		if markup.MatchString(s) {
			t.Errorf("GET %s holds markup: %q", path, s)
		}
	}
	resp, out = h.call("PATCH", path, h.platform(), map[string]any{"name": "&lt;img src=x onerror=alert(1)&gt;"})
	want(t, resp, out, 400, "name: is required and must not be empty (after removing HTML)")
}

func TestCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := func(edit func(b map[string]any, cfg map[string]any)) map[string]any {
		b := h.instanceBody("X", nil)
		edit(b, b["configuration"].(map[string]any))
		return b
	}
	pc := func(resource string) map[string]any {
		return map[string]any{"url": "/hubs/crm/" + resource + "?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
			"idField": "CONTACT_ID", "datesConfiguration": map[string]any{"updatedDateField": "DATE_UPDATED_UTC",
				"updatedDateFormat": "yyyy-MM-dd HH:mm:ss", "createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}}
	}
	cases := []struct {
		name     string
		body     any
		status   int
		fragment string
	}{
		{"empty", "", 400, "body: a JSON object is required"},
		{"array", "[1]", 400, "body:"},
		{"truncated", `{"name": "x", `, 400, "is not valid JSON"},
		{"tags not an array", `{"element":{"key":"insightly"},"tags":"x"}`, 400, "tags: must be an array of strings"},
		{"unknown element", body(func(b, _ map[string]any) { b["element"] = map[string]any{"key": "salesforce"} }), 400, `element.key: unknown element "salesforce"; known: insightly`},
		{"no element", body(func(b, _ map[string]any) { delete(b, "element") }), 400, "element.key: is required"},
		{"HTML-only name", body(func(b, _ map[string]any) { b["name"] = "<b></b>" }), 400, "name: is required and must not be empty"},
		{"no API key", body(func(_, c map[string]any) { delete(c, "password") }), 400, "configuration.password: is required"},
		{"wrong API key", body(func(_, c map[string]any) { c["password"] = "00000000-0000-0000-0000-000000000000" }), 400, "configuration.password: Insightly refused the credentials"},
		{"bad pod", body(func(_, c map[string]any) { delete(c, "base.url"); c["insightly.pod"] = "na 1" }), 400, "configuration.insightly.pod"},
		{"callback not http", body(func(_, c map[string]any) { c["event.notification.callback.url"] = "ftp://x/y" }), 400, "configuration.event.notification.callback.url: must be an http:// or https:// URL"},
		{"callback with credentials", body(func(_, c map[string]any) { c["event.notification.callback.url"] = "https://u:p@example.com/" }), 400, "must not carry credentials"},
		{"events without callback", body(func(_, c map[string]any) { delete(c, "event.notification.callback.url") }), 400, "configuration.event.notification.callback.url: is required"},
		{"interval zero", body(func(_, c map[string]any) { c["event.poller.refresh_interval"] = 0 }), 400, "configuration.event.poller.refresh_interval: must be a whole number"},
		{"interval text", body(func(_, c map[string]any) { c["event.poller.refresh_interval"] = "often" }), 400, `not "often"`},
		{"enabled not a bool", body(func(_, c map[string]any) { c["event.notification.enabled"] = "yes" }), 400, "configuration.event.notification.enabled: must be true or false"},
		{"webhook vendor", body(func(_, c map[string]any) { c["event.vendor.type"] = "webhook" }), 400, "supports polling events only"},
		{"typo in an event key", body(func(_, c map[string]any) { c["event.notification.callback.ur"] = "x" }), 400, "did you mean event.notification.callback.url?"},
		{"reserved key", body(func(_, c map[string]any) { c["pollhook.account"] = "x" }), 400, "reserved"},
		{"object config value", body(func(_, c map[string]any) { c["username"] = map[string]any{} }), 400, "configuration.username: must be a string, number or boolean"},
		{"poller config not JSON", body(func(_, c map[string]any) { c["event.poller.configuration"] = "{contacts" }), 400, "configuration.event.poller.configuration"},
		{"unknown template variable", body(func(_, c map[string]any) {
			r := pc("contacts")
			r["url"] = "/hubs/crm/contacts?where=updated_after_utc='${epochSeconds}'"
			c["event.poller.configuration"] = map[string]any{"contacts": r}
		}), 400, `configuration.event.poller.configuration.contacts.url`},
		{"bad date pattern", body(func(_, c map[string]any) {
			r := pc("contacts")
			r["datesConfiguration"].(map[string]any)["updatedDateFormat"] = "yyyy-MM-dd'T'HH:mm:ssXXX'"
			c["event.poller.configuration"] = map[string]any{"contacts": r}
		}), 400, "configuration.event.poller.configuration.contacts.datesConfiguration.updatedDateFormat"},
		{"unknown poller key", body(func(_, c map[string]any) {
			r := pc("contacts")
			r["filterByUpdateDate"] = false
			c["event.poller.configuration"] = map[string]any{"contacts": r}
		}), 400, "filterByUpdatedDate"},
		{"bad filter", body(func(_, c map[string]any) {
			r := pc("contacts")
			r["filter"] = "LAST_NAME = 'Smith' and and"
			c["event.poller.configuration"] = map[string]any{"contacts": r}
		}), 400, "configuration.event.poller.configuration.contacts.filter: at position"},
		{"fields without snapshots", body(func(_, c map[string]any) {
			r := pc("contacts")
			r["fields"] = []string{"TITLE"}
			c["event.poller.configuration"] = map[string]any{"contacts": r}
		}), 400, `configuration.event.poller.configuration.contacts.fields: needs "snapshots": true`},
		{"ignoreFields without snapshots", body(func(_, c map[string]any) {
			r := pc("contacts")
			r["ignoreFields"] = []string{"DATE_UPDATED_UTC"}
			c["event.poller.configuration"] = map[string]any{"contacts": r}
		}), 400, `configuration.event.poller.configuration.contacts.ignoreFields: needs "snapshots": true`},
		// Any Insightly object name takes a default (issue 15); a path does not.
		{"empty resource without a default", body(func(_, c map[string]any) {
			c["event.poller.configuration"] = map[string]any{"widgets/{id}/parts": map[string]any{}}
		}), 400, "configuration.event.poller.configuration.widgets/{id}/parts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := h.call("POST", "/instances", h.platform(), tc.body)
			want(t, resp, out, tc.status, tc.fragment)
		})
	}
	if n := h.countInstances(); n != 0 {
		t.Errorf("refused requests left %d instances behind", n)
	}
	// The poller configuration may also arrive as a JSON string.
	ok := body(func(_, c map[string]any) {
		s, _ := json.Marshal(map[string]any{"contacts": pc("contacts")})
		c["event.poller.configuration"] = string(s)
	})
	in, _ := h.create(ok)
	if !strings.Contains(in.Configuration["event.poller.configuration"], "contacts") {
		t.Errorf("string poller configuration: %v", in.Configuration)
	}
}

func TestPrivateCallbacksRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withoutPrivateCallbacks())
	for _, u := range []string{"http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://[::1]/", "http://169.254.169.254/latest", "http://localhost/", "http://100.64.0.1/"} {
		b := h.instanceBody("X", map[string]any{"event.notification.callback.url": u})
		resp, out := h.call("POST", "/instances", h.platform(), b)
		want(t, resp, out, 400, "configuration.event.notification.callback.url")
		if !strings.Contains(string(out), "not on the public Internet") && !strings.Contains(string(out), "localhost is this machine") {
			t.Errorf("%s: %s", u, out)
		}
	}
	if n := h.countInstances(); n != 0 {
		t.Errorf("%d instances", n)
	}
}
