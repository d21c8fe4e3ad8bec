package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/store"
)

// otherTenant makes a second organization with a user and returns their header.
func (h *harness) otherTenant() credentials {
	h.t.Helper()
	ctx := context.Background()
	c := credentials{User: auth.NewSecret(), Organization: auth.NewSecret()}
	org := &store.Organization{Name: "globex", SecretHash: auth.Hash(c.Organization)}
	if err := h.srv.store.CreateOrganization(ctx, org); err != nil {
		h.t.Fatal(err)
	}
	if err := h.srv.store.CreateUser(ctx, &store.User{OrgID: org.ID, Email: "eve@globex.example", SecretHash: auth.Hash(c.User)}); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// A user of one organization can neither see, change nor use another's
// instances, whatever the endpoint.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	mine, _ := h.create(h.instanceBody("Mine", nil))
	eve := h.otherTenant()
	id := fmt.Sprint(mine.ID)
	var itemID int64
	{
		_, out := h.call("GET", "/instances/"+id+"/configuration", h.platform(), nil)
		var items []struct{ ID int64 }
		json.Unmarshal(out, &items)
		itemID = items[0].ID
	}
	item := fmt.Sprintf("/instances/%s/configuration/%d", id, itemID)
	evePlatform := eve.header()
	eveWithMyToken := eve.header() + ", Element " + mine.Token
	cases := []struct {
		method, path, authz string
		body                any
		status              int
	}{
		{"GET", "/instances/" + id, evePlatform, nil, 404},
		{"PUT", "/instances/" + id, evePlatform, h.instanceBody("Stolen", nil), 404},
		{"PATCH", "/instances/" + id, evePlatform, map[string]any{"name": "Stolen"}, 404},
		{"DELETE", "/instances/" + id, evePlatform, nil, 404},
		{"GET", "/instances/" + id + "/configuration", evePlatform, nil, 404},
		{"GET", item, evePlatform, nil, 404},
		{"PATCH", item, evePlatform, map[string]any{"propertyValue": "x"}, 404},
		{"PUT", "/instances/" + id + "/enabled", evePlatform, nil, 404},
		{"DELETE", "/instances/" + id + "/enabled", evePlatform, nil, 404},
		{"PUT", "/instances", eveWithMyToken, h.instanceBody("Stolen", nil), 401},
		{"PATCH", "/instances", eveWithMyToken, map[string]any{"name": "Stolen"}, 401},
		{"GET", "/instances/configuration", eveWithMyToken, nil, 401},
		{"GET", fmt.Sprintf("/instances/configuration/%d", itemID), eveWithMyToken, nil, 401},
		{"PATCH", fmt.Sprintf("/instances/configuration/%d", itemID), eveWithMyToken, map[string]any{"propertyValue": "x"}, 401},
		{"PUT", "/instances/enabled", eveWithMyToken, nil, 401},
		{"DELETE", "/instances/enabled", eveWithMyToken, nil, 401},
		{"GET", "/hubs/crm/contacts", "User " + eve.User + ", Element " + mine.Token, nil, 401},
		{"GET", "/hubs/crm/contacts/1", "User " + eve.User + ", Element " + mine.Token, nil, 401},
		{"POST", "/hubs/crm/contacts", "User " + eve.User + ", Element " + mine.Token, map[string]any{"LAST_NAME": "x"}, 401},
		{"DELETE", "/hubs/crm/contacts/1", "User " + eve.User + ", Element " + mine.Token, nil, 401},
		// Mixing one user's secret with another organization's.
		{"GET", "/instances/" + id, "User " + eve.User + ", Organization " + h.creds.Organization, nil, 401},
		{"GET", "/hubs/crm/contacts", "User " + eve.User + ", Organization " + h.creds.Organization + ", Element " + mine.Token, nil, 401},
	}
	for _, tc := range cases {
		resp, out := h.call(tc.method, tc.path, tc.authz, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s as the other tenant: %d %s, want %d", tc.method, tc.path, resp.StatusCode, out, tc.status)
		}
	}
	resp, out := h.call("GET", "/instances", evePlatform, nil)
	if resp.StatusCode != 200 || strings.TrimSpace(string(out)) != "[]" {
		t.Errorf("the other tenant's list: %d %s", resp.StatusCode, out)
	}
	// Nothing changed.
	resp, out = h.call("GET", "/instances/"+id, h.platform(), nil)
	want(t, resp, out, 200, "")
	var got instanceJSON
	json.Unmarshal(out, &got)
	if got.Name != "Mine" || got.Disabled {
		t.Errorf("the instance changed: %s", out)
	}
}

func TestHubEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	in, _ := h.create(h.instanceBody("Hub", nil))
	authz := h.hub(in.Token)
	// The three-part header works on hub calls too.
	for _, a := range []string{authz, h.tokenScoped(in.Token)} {
		resp, out := h.call("GET", "/hubs/crm/contacts?pageSize=10", a, nil)
		want(t, resp, out, 200, "")
		var page []map[string]any
		json.Unmarshal(out, &page)
		if len(page) != 10 || resp.Header.Get("Elements-Returned-Count") != "10" || resp.Header.Get("Elements-Next-Page-Token") == "" ||
			resp.Header.Get("Elements-Element-Instance-Id") != fmt.Sprint(in.ID) {
			t.Fatalf("list: %d records, headers %v", len(page), resp.Header)
		}
	}
	// Page through with tokens.
	var all []float64
	next := ""
	for range 10 {
		resp, out := h.call("GET", "/hubs/crm/contacts?pageSize=7&nextPage="+next, authz, nil)
		want(t, resp, out, 200, "")
		var page []map[string]any
		json.Unmarshal(out, &page)
		for _, r := range page {
			all = append(all, r["CONTACT_ID"].(float64))
		}
		if next = resp.Header.Get("Elements-Next-Page-Token"); next == "" {
			break
		}
	}
	truth, _ := h.sim.Records(h.sim.APIKey(), "Contacts")
	if len(all) != len(truth) || !slices.IsSorted(all) {
		t.Errorf("paged %d contacts, the simulator has %d", len(all), len(truth))
	}
	// CEQL where.
	resp, out := h.call("GET", "/hubs/crm/accounts?where="+urlq("updated_after_utc='2000-01-01 00:00:00' AND ORGANISATION_NAME LIKE '%a%'"), authz, nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("GET", "/hubs/crm/accounts?where="+urlq("ORGANISATION_NAME = "), authz, nil)
	want(t, resp, out, 400, "where: ceql: at offset")
	resp, out = h.call("GET", "/hubs/crm/accounts?pageSize=0", authz, nil)
	want(t, resp, out, 400, "pageSize")
	// A page whose offset would overflow, or that Insightly cannot take,
	// is refused rather than wrapped around to page 1; a forged token too.
	for _, q := range []string{"page=9223372036854775807", "page=9223372036854775807&pageSize=500", "page=10737420",
		"page=99999999999999999999", "page=3074457345618258604&pageSize=3"} {
		resp, out = h.call("GET", "/hubs/crm/contacts?"+q, authz, nil)
		want(t, resp, out, 400, "page: ")
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"page":9223372036854775807,"pageSize":500}`))
	resp, out = h.call("GET", "/hubs/crm/contacts?nextPage="+forged, authz, nil)
	want(t, resp, out, 400, "nextPage: ")

	// Create, read, update, delete.
	resp, out = h.call("POST", "/hubs/crm/contacts", authz, map[string]any{"last_name": "MAC"})
	want(t, resp, out, 200, "")
	var c map[string]any
	json.Unmarshal(out, &c)
	cid := fmt.Sprint(int64(c["CONTACT_ID"].(float64)))
	for _, m := range []string{"PUT", "PATCH"} {
		resp, out = h.call(m, "/hubs/crm/contacts/"+cid, authz, map[string]any{"TITLE": "CTO via " + m})
		want(t, resp, out, 200, "")
	}
	resp, out = h.call("GET", "/hubs/crm/contacts/"+cid, authz, nil)
	want(t, resp, out, 200, "")
	if !strings.Contains(string(out), `"TITLE":"CTO via PATCH"`) || !strings.Contains(string(out), `"LAST_NAME":"MAC"`) {
		t.Errorf("after updates: %s", out)
	}
	resp, out = h.call("DELETE", "/hubs/crm/contacts/"+cid, authz, nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("GET", "/hubs/crm/contacts/"+cid, authz, nil)
	want(t, resp, out, 404, "Contact not found.")
	resp, out = h.call("GET", "/hubs/crm/me", authz, nil)
	want(t, resp, out, 200, "")
	resp, out = h.call("GET", "/hubs/crm/Ticket", authz, nil)
	want(t, resp, out, 403, "does not have access to Ticket")
	resp, out = h.call("POST", "/hubs/crm/users", authz, map[string]any{})
	want(t, resp, out, 405, "read-only")
	resp, out = h.call("POST", "/hubs/crm/contacts", authz, strings.Repeat("x", 2<<20))
	want(t, resp, out, 413, "larger than")
}

func urlq(s string) string {
	r := strings.NewReplacer(" ", "%20", "'", "%27", "%", "%25", "=", "%3D")
	return r.Replace(s)
}

var update = flag.Bool("update", false, "rewrite golden files")

// The OpenAPI document is generated from the routes; a change to it must
// be deliberate (go test ./internal/app -run OpenAPI -update).
func TestOpenAPIGolden(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, out := h.call("GET", "/openapi.json", "", nil)
	want(t, resp, out, 200, "")
	golden := filepath.Join("testdata", "openapi.json")
	if *update {
		os.WriteFile(golden, out, 0o644)
	}
	if string(out) != string(readTestdata(t, "openapi.json")) {
		t.Errorf("the OpenAPI document changed; run go test ./internal/app -run OpenAPI -update and review the diff")
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("document: %v", err)
	}
	for _, rt := range h.srv.api.Routes() {
		if _, ok := doc.Paths["/elements/api-v2"+rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is served but not documented", rt.Method, rt.Path)
		}
	}
}
