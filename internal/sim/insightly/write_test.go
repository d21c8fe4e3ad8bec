package insightly

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	c1 := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"FIRST_NAME": "Ada", "LAST_NAME": "Lovelace",
		"PHONE": "+44 1", "CONTACT_ID": 1, "DATE_CREATED_UTC": "2000-01-01 00:00:00"}, 201)
	id := idOf(t, c1, "CONTACT_ID")
	if id == 1 || c1["DATE_CREATED_UTC"] != "2026-03-01 12:00:00" || c1["DATE_UPDATED_UTC"] != "2026-03-01 12:00:00" {
		t.Fatalf("server-owned fields taken from the body: %v", c1)
	}
	if c1["VISIBLE_TO"] != "EVERYONE" || c1["OWNER_USER_ID"] == nil || c1["CREATED_USER_ID"] != c1["OWNER_USER_ID"] {
		t.Errorf("defaults: %v %v %v", c1["VISIBLE_TO"], c1["OWNER_USER_ID"], c1["CREATED_USER_ID"])
	}
	c2 := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"last_name": "Second"}, 201) // keys bind case-insensitively
	if c2["LAST_NAME"] != "Second" {
		t.Errorf("last_name not bound: %v", c2["LAST_NAME"])
	}
	if idOf(t, c2, "CONTACT_ID") <= id {
		t.Fatalf("IDs must grow: %d after %d", idOf(t, c2, "CONTACT_ID"), id)
	}

	// PUT /Contacts with the ID in the body merges: absent keys stay, null clears.
	b.clock.Advance(90 * time.Second)
	up := b.write(t, "PUT", "/v3.1/Contacts", map[string]any{"CONTACT_ID": id, "TITLE": "Countess", "PHONE": nil}, 200)
	if up["FIRST_NAME"] != "Ada" || up["TITLE"] != "Countess" || up["PHONE"] != nil {
		t.Errorf("merge: %v", up)
	}
	if up["DATE_CREATED_UTC"] != "2026-03-01 12:00:00" || up["DATE_UPDATED_UTC"] != "2026-03-01 12:01:30" {
		t.Errorf("dates after PUT: %v / %v", up["DATE_CREATED_UTC"], up["DATE_UPDATED_UTC"])
	}
	if got := b.getRecord(t, "/v3.1/Contacts/"+itoa(id)); got["TITLE"] != "Countess" {
		t.Errorf("GET after PUT: %v", got["TITLE"])
	}
	// PUT /Contacts/{id} (amp-labs' form) works too; a mismatched body ID is 400.
	b.write(t, "PUT", "/v3.1/Contacts/"+itoa(id), map[string]any{"TITLE": "Mathematician"}, 200)
	resp, body := b.do(t, "PUT", "/v3.1/Contacts/"+itoa(id), map[string]any{"CONTACT_ID": id + 1, "TITLE": "x"})
	wantStatus(t, resp, body, 400)
	resp, body = b.do(t, "PUT", "/v3.1/Contacts", map[string]any{"TITLE": "no id"})
	wantStatus(t, resp, body, 400)

	// DELETE is 202 with no body; the record is gone from every read.
	resp, body = b.do(t, "DELETE", "/v3.1/Contacts/"+itoa(id), nil)
	wantStatus(t, resp, body, 202)
	if len(body) != 0 {
		t.Errorf("DELETE body = %q", body)
	}
	resp, body = b.do(t, "GET", "/v3.1/Contacts/"+itoa(id), nil)
	wantStatus(t, resp, body, 404)
	if got := message(t, body); got != "Contact not found." {
		t.Errorf("404 message = %q", got)
	}
	page, _ := b.getList(t, "/v3.1/Contacts/Search?updated_after_utc=2000-01-01")
	if len(page) != 1 || idOf(t, page[0], "CONTACT_ID") == id {
		t.Errorf("deleted record still listed: %v", page)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		resp, body = b.do(t, m, "/v3.1/Contacts/"+itoa(id), map[string]any{"TITLE": "ghost"})
		wantStatus(t, resp, body, 404)
	}
}

func TestWriteValidation(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	cases := []struct {
		path string
		body any
		want string // substring of the message
	}{
		{"/v3.1/Contacts", `{"LAST_NAME": `, "JSON object"},
		{"/v3.1/Contacts", `[1,2]`, "JSON object"},
		{"/v3.1/Contacts", map[string]any{"TITLE": "no name"}, "FIRST_NAME or LAST_NAME is required"},
		{"/v3.1/Leads", map[string]any{"FIRST_NAME": "only first"}, "LAST_NAME is required"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": 7}, "LAST_NAME must be a string"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "EMAIL_OPTED_OUT": "yes"}, "EMAIL_OPTED_OUT must be true or false"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "DATE_OF_BIRTH": "1990-01-01T00:00:00Z"}, "yyyy-MM-dd HH:mm:ss"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "VISIBLE_TO": "FRIENDS"}, "VISIBLE_TO must be one of"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "OWNER_USER_ID": 42}, "not a user"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "ORGANISATION_ID": 42}, "ORGANISATION_ID 42 does not exist"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "CUSTOMFIELDS": []any{map[string]any{"FIELD_NAME": "Nope__c", "FIELD_VALUE": 1}}}, "not a custom field"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "CUSTOMFIELDS": []any{map[string]any{"FIELD_NAME": "Preferred_Contact_Method__c", "FIELD_VALUE": "Pigeon"}}}, "one of Email, Phone, SMS"},
		{"/v3.1/Contacts", map[string]any{"LAST_NAME": "x", "TAGS": []any{map[string]any{"TAG_NAME": ""}}}, "TAG_NAME is required"},
		{"/v3.1/Opportunities", map[string]any{"OPPORTUNITY_NAME": "x", "BID_AMOUNT": "lots"}, "BID_AMOUNT must be a number"},
	}
	for _, tc := range cases {
		resp, body := b.do(t, "POST", tc.path, tc.body)
		wantStatus(t, resp, body, 400)
		if got := message(t, body); !strings.Contains(got, tc.want) {
			t.Errorf("POST %s %v: message %q lacks %q", tc.path, tc.body, got, tc.want)
		}
	}
	if page, _ := b.getList(t, "/v3.1/Contacts"); len(page) != 0 {
		t.Errorf("a refused write left %d records behind", len(page))
	}
	// Enums are case-insensitive on input and upper-case on output (CE's tests send "won").
	opp := b.write(t, "POST", "/v3.1/Opportunities", map[string]any{"OPPORTUNITY_NAME": "Deal", "OPPORTUNITY_STATE": "won", "BID_AMOUNT": 24000}, 201)
	if opp["OPPORTUNITY_STATE"] != "WON" || opp["BID_AMOUNT"] != json.Number("24000") {
		t.Errorf("normalised: %v %v", opp["OPPORTUNITY_STATE"], opp["BID_AMOUNT"])
	}
}

func TestSubCollections(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	org := b.write(t, "POST", "/v3.1/Organisations", map[string]any{"ORGANISATION_NAME": "Org",
		"EMAILDOMAINS": []any{map[string]any{"EMAIL_DOMAIN": "org.example"}}}, 201)
	orgID := idOf(t, org, "ORGANISATION_ID")
	c := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Linked", "ORGANISATION_ID": orgID,
		"TAGS":  []any{map[string]any{"TAG_NAME": "VIP"}},
		"LINKS": []any{map[string]any{"LINK_OBJECT_NAME": "Organisation", "LINK_OBJECT_ID": orgID}},
		"DATES": []any{map[string]any{"OCCASION_NAME": "Birthday", "OCCASION_DATE": "1990-05-01 00:00:00", "REPEAT_YEARLY": true}},
		"CUSTOMFIELDS": []any{map[string]any{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "Skiing"},
			map[string]any{"FIELD_NAME": "Interests__c", "FIELD_VALUE": "Music;Travel"}}}, 201)
	id := idOf(t, c, "CONTACT_ID")
	links := c["LINKS"].([]any)
	link := links[0].(map[string]any)
	if len(links) != 1 || link["OBJECT_NAME"] != "Contact" || link["OBJECT_ID"] != json.Number(itoa(id)) || link["LINK_ID"] == nil {
		t.Errorf("LINKS = %v", links)
	}
	// A partial CUSTOMFIELDS list merges by FIELD_NAME; TAGS are replaced whole.
	up := b.write(t, "PUT", "/v3.1/Contacts", map[string]any{"CONTACT_ID": id,
		"CUSTOMFIELDS": []any{map[string]any{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "Chess"}},
		"TAGS":         []any{map[string]any{"TAG_NAME": "Partner"}}}, 200)
	cf := map[string]any{}
	for _, e := range up["CUSTOMFIELDS"].([]any) {
		m := e.(map[string]any)
		cf[m["FIELD_NAME"].(string)] = m["FIELD_VALUE"]
		if m["CUSTOM_FIELD_ID"] != m["FIELD_NAME"] {
			t.Errorf("CUSTOM_FIELD_ID = %v", m["CUSTOM_FIELD_ID"])
		}
	}
	if cf["Hobby__c"] != "Chess" || cf["Interests__c"] != "Music;Travel" {
		t.Errorf("custom fields after merge: %v", cf)
	}
	if tags := up["TAGS"].([]any); len(tags) != 1 || tags[0].(map[string]any)["TAG_NAME"] != "Partner" {
		t.Errorf("TAGS after PUT: %v", tags)
	}
	if d := up["DATES"].([]any); len(d) != 1 || d[0].(map[string]any)["DATE_ID"] == nil {
		t.Errorf("DATES kept with an ID: %v", d)
	}
	// Custom field metadata lists the object's definitions.
	_, body := b.do(t, "GET", "/v3.1/CustomFields/Contacts", nil)
	var defs []map[string]any
	if err := json.Unmarshal(body, &defs); err != nil || len(defs) != 4 || defs[0]["FIELD_FOR"] != "CONTACT" {
		t.Errorf("CustomFields/Contacts: %s", body)
	}
	_, body = b.do(t, "GET", "/v3.1/CustomFields/Contact", nil)
	if err := json.Unmarshal(body, &defs); err != nil || len(defs) != 4 {
		t.Errorf("CustomFields/Contact (singular): %s", body)
	}
}

func TestIfMatch(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	c := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Etag"}, 201)
	id := idOf(t, c, "CONTACT_ID")
	resp, _ := b.do(t, "GET", "/v3.1/Contacts/"+itoa(id), nil)
	tag := resp.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	resp, body := b.do(t, "PUT", "/v3.1/Contacts", map[string]any{"CONTACT_ID": id, "TITLE": "1"}, "If-Match", tag)
	wantStatus(t, resp, body, 200)
	// The ETag is stale now: Insightly answers 400, not 412.
	resp, body = b.do(t, "PUT", "/v3.1/Contacts", map[string]any{"CONTACT_ID": id, "TITLE": "2"}, "If-Match", tag)
	wantStatus(t, resp, body, 400)
	if !strings.Contains(message(t, body), "If-Match header value") {
		t.Errorf("message: %s", body)
	}
}

func TestRoutesAndStatuses(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 2})
	contact, _ := b.getList(t, "/v3.1/Contacts?top=1")
	cid := itoa(idOf(t, contact[0], "CONTACT_ID"))
	cases := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/v3.1/contacts?top=1", nil, 200}, // routing is case-insensitive
		{"GET", "/v3.1/Nothing", nil, 404},
		{"GET", "/v3.1/Contacts/abc", nil, 404},
		{"GET", "/v3.1/Contacts/1/2/3", nil, 404},
		{"GET", "/v3.0/Contacts", nil, 404},
		{"GET", "/v3.1/Tickets", nil, 405}, // the plural of a singular collection
		{"GET", "/v3.1/Products", nil, 405},
		{"POST", "/v3.1/Notes", map[string]any{"TITLE": "x"}, 405}, // notes live under a parent
		{"PUT", "/v3.1/Users", map[string]any{"USER_ID": 1}, 405},
		{"DELETE", "/v3.1/Contacts", nil, 405},
		{"POST", "/v3.1/Contacts/Search", nil, 405},
		{"GET", "/v3.1/Ticket", nil, 403},  // gated on Professional
		{"GET", "/v3.1/Product", nil, 404}, // not on the plan at all
		{"POST", "/v3.1/Contacts/" + cid + "/Notes", map[string]any{"TITLE": "Call", "BODY": "<p>hi</p>"}, 201},
		{"POST", "/v3.1/Contacts/1/Notes", map[string]any{"TITLE": "Call"}, 404},
		{"GET", "/v3.1/Fruit__c?top=1", nil, 200},
		{"GET", "/v3.1/CustomObjects/Fruit__c", nil, 200},
		{"GET", "/v3.1/CustomObjects/Veg__c", nil, 404},
		{"GET", "/v3.1/ActivitySets", nil, 200},
		{"GET", "/v3.1/ActivitySets/Search", nil, 405},
	}
	for _, tc := range cases {
		resp, body := b.do(t, tc.method, tc.path, tc.body)
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.want)
		}
		if resp.StatusCode >= 400 {
			message(t, body)
		}
	}
	_, body := b.do(t, "GET", "/v3.1/Ticket", nil)
	if got := message(t, body); got != "API User does not have access to Ticket." {
		t.Errorf("403 message %q", got)
	}
	notes, _ := b.getList(t, "/v3.1/Contacts/"+cid+"/Notes")
	if len(notes) != 1 || notes[0]["TITLE"] != "Call" {
		t.Errorf("child notes: %v", notes)
	}

	// On Enterprise, the gated objects answer.
	_, e := setup(t, Config{Plan: "Enterprise", Records: 10})
	for _, p := range []string{"/v3.1/Ticket", "/v3.1/Product", "/v3.1/Prospect/Search"} {
		if page, _ := e.getList(t, p); len(page) == 0 {
			t.Errorf("Enterprise %s: empty", p)
		}
	}
}
