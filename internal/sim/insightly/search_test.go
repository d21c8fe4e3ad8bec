package insightly

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// names lists LAST_NAME of each record, in order.
func names(recs []map[string]any) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r["LAST_NAME"].(string))
	}
	return out
}

func TestUpdatedAfterIsExclusiveAtSecondPrecision(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	// A and B in second 12:00:00, C in 12:00:01.
	b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "A"}, 201)
	b.clock.Advance(500 * time.Millisecond)
	b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "B"}, 201)
	b.clock.Advance(600 * time.Millisecond)
	c := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "C"}, 201)
	if c["DATE_UPDATED_UTC"] != "2026-03-01 12:00:01" {
		t.Fatalf("C updated at %v", c["DATE_UPDATED_UTC"])
	}
	cases := []struct {
		value string
		want  []string
	}{
		{"2026-03-01T11:59:59Z", []string{"A", "B", "C"}},
		{"2026-03-01T12:00:00Z", []string{"C"}},            // strictly after: the boundary second is out
		{"2026-03-01 12:00:00", []string{"C"}},             // Airbyte's spelling
		{"2026-03-01T12:00:00", []string{"C"}},             // no zone: UTC
		{"2026-03-01T12:00:00.999Z", []string{"C"}},        // second precision
		{"2026-03-01T13:00:00+01:00", []string{"C"}},       // an offset is honoured
		{"2026-03-01T07:00:00-05:00", []string{"C"}},       //
		{"2026-03-01 11:59:59.5", []string{"A", "B", "C"}}, //
		{"2026-03-01T12:00:01Z", []string{}},
		{"2026-03-01", []string{"A", "B", "C"}},
	}
	for _, tc := range cases {
		page, _ := b.getList(t, "/v3.1/Contacts/Search?updated_after_utc="+url.QueryEscape(tc.value))
		if got := names(page); !slices.Equal(got, tc.want) {
			t.Errorf("updated_after_utc=%s: got %v, want %v", tc.value, got, tc.want)
		}
	}
	// A client that forgets to escape "+" sends a space.
	page, _ := b.getList(t, "/v3.1/Contacts/Search?updated_after_utc=2026-03-01T13:00:00+01:00")
	if got := names(page); !slices.Equal(got, []string{"C"}) {
		t.Errorf("unescaped offset: got %v", got)
	}
	for _, bad := range []string{"yesterday", "2026-13-01T00:00:00Z", "1700000000"} {
		resp, body := b.do(t, "GET", "/v3.1/Contacts/Search?updated_after_utc="+url.QueryEscape(bad), nil)
		wantStatus(t, resp, body, 400)
		message(t, body)
	}
}

func TestPlainListIgnoresUpdatedAfterUnlessConfigured(t *testing.T) {
	t.Parallel()
	for _, honors := range []bool{false, true} {
		_, b := setup(t, Config{ListHonorsUpdatedAfter: honors})
		b.write(t, "POST", "/v3.1/Leads", map[string]any{"LAST_NAME": "Old"}, 201)
		b.clock.Advance(2 * time.Second)
		b.write(t, "POST", "/v3.1/Leads", map[string]any{"LAST_NAME": "New"}, 201)
		page, _ := b.getList(t, "/v3.1/Leads?updated_after_utc=2026-03-01T12:00:00Z")
		want := []string{"Old", "New"}
		if honors {
			want = []string{"New"}
		}
		if got := names(page); !slices.Equal(got, want) {
			t.Errorf("honors=%v: got %v, want %v", honors, got, want)
		}
	}
}

func TestFieldSearch(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Huber", "EMAIL_ADDRESS": "p@mail.com",
		"CUSTOMFIELDS": []any{map[string]any{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "Skiing"},
			map[string]any{"FIELD_NAME": "Newsletter_Subscription__c", "FIELD_VALUE": true}}}, 201)
	b.clock.Advance(3 * time.Second)
	b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Hubertus", "EMAIL_OPTED_OUT": true,
		"CUSTOMFIELDS": []any{map[string]any{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "Chess"}}}, 201)
	org := b.write(t, "POST", "/v3.1/Organisations", map[string]any{"ORGANISATION_NAME": "Bergen kommune",
		"CUSTOMFIELDS": []any{map[string]any{"FIELD_NAME": "Employees__c", "FIELD_VALUE": 4601.0}}}, 201)
	cases := []struct {
		query string
		want  []string
	}{
		{"field_name=LAST_NAME&field_value=Huber", []string{"Huber"}}, // exact, not prefix
		{"field_name=LAST_NAME&field_value=huber", []string{"Huber"}}, // case-insensitive collation
		{"field_name=EMAIL_ADDRESS&field_value=p%40mail.com", []string{"Huber"}},
		{"field_name=EMAIL_OPTED_OUT&field_value=true", []string{"Hubertus"}},
		{"field_name=Hobby__c&field_value=Chess", []string{"Hubertus"}},
		{"field_name=Newsletter_Subscription__c&field_value=True", []string{"Huber"}},
		{"field_name=LAST_NAME&field_value=Nobody", []string{}},
		// Filters combine with AND.
		{"field_name=Hobby__c&field_value=Skiing&updated_after_utc=2026-03-01T12:00:01Z", []string{}},
		{"field_name=Hobby__c&field_value=Chess&updated_after_utc=2026-03-01T12:00:01Z", []string{"Hubertus"}},
	}
	for _, tc := range cases {
		page, _ := b.getList(t, "/v3.1/Contacts/Search?"+tc.query)
		if got := names(page); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.query, got, tc.want)
		}
	}
	// A number matches by value.
	page, _ := b.getList(t, "/v3.1/Organisations/Search?field_name=Employees__c&field_value=4601")
	if len(page) != 1 || idOf(t, page[0], "ORGANISATION_ID") != idOf(t, org, "ORGANISATION_ID") {
		t.Errorf("numeric custom field search: %v", page)
	}
	for _, q := range []string{"field_name=LAST_NAME", "field_value=Huber", "field_name=NOPE&field_value=x", "field_name=TAGS&field_value=x"} {
		resp, body := b.do(t, "GET", "/v3.1/Contacts/Search?"+q, nil)
		wantStatus(t, resp, body, 400)
		message(t, body)
	}
}

func TestSearchByTag(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	b.write(t, "POST", "/v3.1/Opportunities", map[string]any{"OPPORTUNITY_NAME": "Tagged",
		"TAGS": []any{map[string]any{"TAG_NAME": "VIP"}, map[string]any{"TAG_NAME": "Paris"}}}, 201)
	b.write(t, "POST", "/v3.1/Opportunities", map[string]any{"OPPORTUNITY_NAME": "Plain"}, 201)
	page, _ := b.getList(t, "/v3.1/Opportunities/SearchByTag?tagName=vip")
	if len(page) != 1 || page[0]["OPPORTUNITY_NAME"] != "Tagged" {
		t.Errorf("SearchByTag vip: %v", page)
	}
	resp, body := b.do(t, "GET", "/v3.1/Opportunities/SearchByTag", nil)
	wantStatus(t, resp, body, 400)
	// Tasks have no SearchByTag in the swagger.
	resp, body = b.do(t, "GET", "/v3.1/Tasks/SearchByTag?tagName=x", nil)
	wantStatus(t, resp, body, 405)
}
