package pollconfig_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/pollconfig"
)

func readTestdata(t testing.TB, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// asString wraps a configuration in a JSON string, the other form Cloud
// Elements accepts.
func asString(t testing.TB, v json.RawMessage) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(string(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// roundTrip checks Parse(Marshal(c)) == c and that Marshal is stable.
func roundTrip(t *testing.T, c *pollconfig.Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	c2, err := pollconfig.Parse(b, nil)
	if err != nil {
		t.Fatalf("Parse(Marshal(c)) = %v\nmarshalled: %s", err, b)
	}
	if !reflect.DeepEqual(c, c2) {
		t.Fatalf("round trip changed the config:\n%#v\n%#v\nmarshalled: %s", c, c2, b)
	}
	b2, err := json.Marshal(c2)
	if err != nil || string(b) != string(b2) {
		t.Fatalf("Marshal is not stable:\n%s\n%s (%v)", b, b2, err)
	}
	return b
}

func TestInsightlyDefault(t *testing.T) {
	t.Parallel()
	def := readTestdata(t, "insightly-default.json")
	for _, form := range []struct {
		name string
		v    json.RawMessage
	}{{"object", def}, {"string", asString(t, def)}} {
		c, err := pollconfig.Parse(form.v, nil)
		if err != nil {
			t.Fatalf("%s form: %v", form.name, err)
		}
		if got, want := c.Names(), []string{"accounts", "contacts", "leads", "opportunities"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Names() = %v, want %v", got, want)
		}
		r := c.Resources["contacts"]
		want := &pollconfig.Resource{
			Name:    "contacts",
			URL:     "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
			IDField: "CONTACT_ID",
			Dates: pollconfig.Dates{
				UpdatedField: "DATE_UPDATED_UTC", UpdatedFormat: "yyyy-MM-dd HH:mm:ss", UpdatedTimezone: "GMT",
				CreatedField: "DATE_CREATED_UTC", CreatedFormat: "yyyy-MM-dd HH:mm:ss", CreatedTimezone: "GMT",
			},
			FilterByUpdatedDate:   true,
			CreatedCheckTolerance: 10 * time.Second,
			PageSize:              500,
			Overlap:               60 * time.Second,
			Deletes:               pollconfig.Deletes{Interval: time.Hour, MaxMissingRatio: 0.2},
		}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("%s form: contacts =\n%#v\nwant\n%#v", form.name, r, want)
		}
		for name, id := range map[string]string{"accounts": "ORGANISATION_ID", "leads": "LEAD_ID", "opportunities": "OPPORTUNITY_ID"} {
			if got := c.Resources[name].IDField; got != id {
				t.Errorf("%s idField = %q, want %q", name, got, id)
			}
		}
		roundTrip(t, c)
	}
}

func TestParseExamples(t *testing.T) {
	t.Parallel()
	t.Run("deals", func(t *testing.T) {
		t.Parallel()
		c, err := pollconfig.Parse(readTestdata(t, "ce-deals.json"), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := c.Resources["deals"]
		if r.PageSize != 20 || r.PollDelay != time.Minute || r.CreatedCheckTolerance != time.Minute || !r.FilterByUpdatedDate {
			t.Errorf("deals = %+v", r)
		}
		roundTrip(t, c)
	})
	t.Run("deals verbatim", func(t *testing.T) {
		t.Parallel()
		_, err := pollconfig.Parse(readTestdata(t, "ce-deals-verbatim.json"), nil)
		checkError(t, err, "event.poller.configuration.deals.datesConfiguration.createdDateFormat", "unterminated quote")
		checkError(t, err, "event.poller.configuration.deals.datesConfiguration.createdDateFormat", "yyyy-MM-dd'T'HH:mm:ssXXX'")
	})
	t.Run("contacts archive", func(t *testing.T) {
		t.Parallel()
		c, err := pollconfig.Parse(readTestdata(t, "ce-contacts-archive.json"), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := c.Resources["contacts"]
		if r.PageSize != 500 {
			t.Errorf("pageSize 10000 gave %d, want it clamped to 500", r.PageSize)
		}
		if r.FilterByUpdatedDate || !r.FilterByCurrentDate || r.IDField != "user.id" || r.PollDelay != 30*time.Second || r.CreatedCheckTolerance != 2*time.Second {
			t.Errorf("contacts = %+v", r)
		}
		if got := string(r.Extra["updatedDateTimezone"]); got != `"MST"` {
			t.Errorf("stray updatedDateTimezone kept as %q", got)
		}
		if r.Dates.UpdatedTimezone != "GMT" {
			t.Errorf("datesConfiguration.updatedDateTimezone = %q, want GMT", r.Dates.UpdatedTimezone)
		}
		roundTrip(t, c)
	})
	t.Run("insightly events doc with defaults", func(t *testing.T) {
		t.Parallel()
		c, err := pollconfig.Parse(readTestdata(t, "insightly-events-doc.json"), readTestdata(t, "insightly-default.json"))
		if err != nil {
			t.Fatal(err)
		}
		def, _ := pollconfig.Parse(readTestdata(t, "insightly-default.json"), nil)
		if !reflect.DeepEqual(c, def) {
			t.Errorf("doc example with {} resources differs from the default:\n%#v\n%#v", c, def)
		}
		roundTrip(t, c)
	})
}

func checkError(t *testing.T, err error, field, msg string) {
	t.Helper()
	var pe *pollconfig.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want *pollconfig.Error on %s", err, err, field)
	}
	if pe.Field != field || !strings.Contains(pe.Message, msg) {
		t.Errorf("error = %q: %q\nwant      %q: ...%q...", pe.Field, pe.Message, field, msg)
	}
	if !strings.HasPrefix(pe.Error(), pe.Field+": ") {
		t.Errorf("Error() = %q does not start with the field", pe.Error())
	}
}

func TestStringFormEqualsObjectForm(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ce-deals.json", "ce-contacts-archive.json", "insightly-default.json"} {
		v := readTestdata(t, name)
		a, err1 := pollconfig.Parse(v, nil)
		b, err2 := pollconfig.Parse(asString(t, v), nil)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: object and string forms differ: %v %v", name, err1, err2)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	def := readTestdata(t, "insightly-default.json")

	c, err := pollconfig.Parse(json.RawMessage(`{"leads": { }, "contacts": {"url": "/hubs/crm/contacts", "idField": "CONTACT_ID",
		"datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss"}}}`), def)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Resources["leads"]; got.IDField != "LEAD_ID" || got.Name != "leads" {
		t.Errorf("leads = %+v, want the default", got)
	}
	if got := c.Resources["contacts"]; got.URL != "/hubs/crm/contacts" || got.Dates.CreatedField != "" {
		t.Errorf("contacts = %+v, want it as given, not merged with the default", got)
	}
	// The expanded default is stored in full.
	b := roundTrip(t, c)
	if !strings.Contains(string(b), `"LEAD_ID"`) {
		t.Errorf("stored form lost the expanded default: %s", b)
	}

	// Defaults are copies: changing one config does not change another.
	c.Resources["leads"].Extra = nil
	c2, _ := pollconfig.Parse(json.RawMessage(`{"leads":{}}`), def)
	c2.Resources["leads"].IDField = "X"
	c3, _ := pollconfig.Parse(json.RawMessage(`{"leads":{}}`), def)
	if c3.Resources["leads"].IDField != "LEAD_ID" {
		t.Error("defaults shared between configs")
	}

	_, err = pollconfig.Parse(json.RawMessage(`{"tasks": {}}`), def)
	checkError(t, err, "event.poller.configuration.tasks", "no default configuration")
	_, err = pollconfig.Parse(json.RawMessage(`{"leads": {}}`), nil)
	checkError(t, err, "event.poller.configuration.leads", "no default configuration")

	// A broken element default is the element's bug, not the client's.
	_, err = pollconfig.Parse(json.RawMessage(`{"leads": {}}`), json.RawMessage(`{"leads": {"url": 1}}`))
	var pe *pollconfig.Error
	if err == nil || errors.As(err, &pe) && err == error(pe) {
		t.Errorf("broken defaults gave %v (%T), want a non-*Error error", err, err)
	}
	if err != nil && !strings.Contains(err.Error(), "default configuration is invalid") {
		t.Errorf("broken defaults error = %v", err)
	}
}

func TestJSONErrors(t *testing.T) {
	t.Parallel()
	const key = "event.poller.configuration"
	tests := []struct {
		in, msg string
	}{
		{``, "is empty"},
		{`   `, "is empty"},
		{`null`, "found null"},
		{`[]`, "found array"},
		{`42`, "found number 42"},
		{`true`, "found boolean"},
		{`{}`, "no resources"},
		{`{"contacts": {"url": }`, "invalid JSON at byte offset 21"},
		{`{"contacts": {}} x`, "invalid JSON at byte offset 17"},
		{`{"contacts"`, "invalid JSON at byte offset 11"},
		{`""`, "is an empty string"},
		{`"  "`, "is an empty string"},
		{`"{\"contacts\": {\"url\": }"`, "invalid JSON at byte offset 21 inside the JSON string"},
		{`"[1]"`, "JSON string holding a array"},
		{`"\"{}\""`, "JSON string holding a string"},
		{`{"contacts": {}, "contacts": {}}`, "event.poller.configuration.contacts"},
		{`{"": {}}`, "resource name is empty"},
		{`{"con tacts": {}}`, `contains ' '`},
		{`{"a\u00e9": {}}`, "contains"},
		{`{"` + strings.Repeat("a", 101) + `": {}}`, "longer than 100"},
	}
	for _, tt := range tests {
		_, err := pollconfig.Parse(json.RawMessage(tt.in), nil)
		var pe *pollconfig.Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want *Error", tt.in, err)
			continue
		}
		if !strings.Contains(pe.Error(), tt.msg) || !strings.HasPrefix(pe.Field, key) {
			t.Errorf("Parse(%q) = %v, want ...%q...", tt.in, pe, tt.msg)
		}
	}
	_, err := pollconfig.Parse(json.RawMessage(`{"contacts": {}, "contacts": {}}`), nil)
	checkError(t, err, key+".contacts", "duplicate resource")
}

// base is a valid resource; keys tests replace or add one key at a time.
const base = `"url": "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
	"idField": "CONTACT_ID",
	"datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss",
		"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}`

// withKeys builds {"contacts": {...}} from the base resource with extra
// keys; a key given here overrides the base one.
func withKeys(extra string) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte("{"+base+"}"), &m); err != nil {
		panic(err)
	}
	var e map[string]json.RawMessage
	if err := json.Unmarshal([]byte("{"+extra+"}"), &e); err != nil {
		panic(err)
	}
	for k, v := range e {
		if string(v) == `"<delete>"` {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, _ := json.Marshal(map[string]any{"contacts": m})
	return b
}

func TestKeysValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		extra string
		check func(r *pollconfig.Resource) bool
	}{
		{``, func(r *pollconfig.Resource) bool { return r.FilterByUpdatedDate && !r.FilterByCurrentDate }},
		{`"filterByUpdatedDate": false`, func(r *pollconfig.Resource) bool { return !r.FilterByUpdatedDate }},
		{`"filterByUpdatedDate": "false"`, func(r *pollconfig.Resource) bool { return !r.FilterByUpdatedDate }},
		{`"filterByUpdatedDate": "TRUE"`, func(r *pollconfig.Resource) bool { return r.FilterByUpdatedDate }},
		{`"filterByUpdatedDate": null`, func(r *pollconfig.Resource) bool { return r.FilterByUpdatedDate }},
		{`"filterByCurrentDate": true`, func(r *pollconfig.Resource) bool { return r.FilterByCurrentDate }},
		{`"filterByCurrentDate": "true"`, func(r *pollconfig.Resource) bool { return r.FilterByCurrentDate }},
		{`"createdCheckTolerance": 0`, func(r *pollconfig.Resource) bool { return r.CreatedCheckTolerance == 0 }},
		{`"createdCheckTolerance": "30"`, func(r *pollconfig.Resource) bool { return r.CreatedCheckTolerance == 30*time.Second }},
		{`"pageSize": 1`, func(r *pollconfig.Resource) bool { return r.PageSize == 1 }},
		{`"pageSize": "200"`, func(r *pollconfig.Resource) bool { return r.PageSize == 200 }},
		{`"pageSize": 500`, func(r *pollconfig.Resource) bool { return r.PageSize == 500 }},
		{`"pageSize": 501`, func(r *pollconfig.Resource) bool { return r.PageSize == 500 }},
		{`"pageSize": 10000`, func(r *pollconfig.Resource) bool { return r.PageSize == 500 }},
		{`"pollDelay": 60`, func(r *pollconfig.Resource) bool { return r.PollDelay == time.Minute }},
		{`"pollDelay": "604800"`, func(r *pollconfig.Resource) bool { return r.PollDelay == 7*24*time.Hour }},
		{`"overlap": 0`, func(r *pollconfig.Resource) bool { return r.Overlap == 0 }},
		{`"overlap": 300`, func(r *pollconfig.Resource) bool { return r.Overlap == 5*time.Minute }},
		{`"deletes": {"enabled": true}`, func(r *pollconfig.Resource) bool {
			return r.Deletes == pollconfig.Deletes{Enabled: true, Interval: time.Hour, MaxMissingRatio: 0.2}
		}},
		{`"deletes": {"enabled": "true", "scanEveryMinutes": "15", "maxMissingShare": "0.5"}`, func(r *pollconfig.Resource) bool {
			return r.Deletes == pollconfig.Deletes{Enabled: true, Interval: 15 * time.Minute, MaxMissingRatio: 0.5}
		}},
		{`"deletes": {"scanEveryMinutes": 1440, "maxMissingShare": 1}`, func(r *pollconfig.Resource) bool {
			return r.Deletes == pollconfig.Deletes{Enabled: true, Interval: 24 * time.Hour, MaxMissingRatio: 1}
		}},
		{`"deletes": {}`, func(r *pollconfig.Resource) bool { return r.Deletes.Enabled && r.Deletes.Interval == time.Hour }},
		{`"deletes": {"enabled": false, "scanEveryMinutes": 5}`, func(r *pollconfig.Resource) bool {
			return !r.Deletes.Enabled && r.Deletes.Interval == 5*time.Minute
		}},
		{`"idField": "user.id"`, func(r *pollconfig.Resource) bool { return r.IDField == "user.id" }},
		{`"idField": "LINKS.0.LINK_ID"`, func(r *pollconfig.Resource) bool { return r.IDField == "LINKS.0.LINK_ID" }},
		{`"url": "/hubs/crm/contacts"`, func(r *pollconfig.Resource) bool { return r.URL == "/hubs/crm/contacts" }},
		{`"url": "/hubs/crm/contacts?where=updated_after_utc%3D%27${gmtDate:yyyy-MM-dd+HH:mm:ss}%27&pageSize=5"`, nil},
		{`"url": "/hubs/crm/accounts/{id}/addresses?where=x='${dateTimeZone:America/Denver:yyyy-MM-dd}' AND y<'${nowTimeZone:-8:00:HH:mm}'"`, nil},
		{`"url": "/hubs/crm/contacts?where=NAME LIKE '%smith%' AND DATE_UPDATED_UTC>='${gmtDate:yyyy-MM-dd}'"`, nil},
		{`"url": "/hubs/crm/contacts?where=ts>${epoch:s}&orderBy=DATE_UPDATED_UTC desc"`, nil},
		{`"batchSize": 10, "postHooks": [{"a": 1}], "postHookPipelines": null, "useLastPollDate": "true",
			"useHydrationBeforePostHooks": false, "objectName": "Contact", "parameters": {"b": 2, "a": 1}, "updatedDateTimezone": "MST"`,
			func(r *pollconfig.Resource) bool {
				return len(r.Extra) == 8 && string(r.Extra["parameters"]) == `{"a":1,"b":2}` && string(r.Extra["postHookPipelines"]) == "null"
			}},
		{`"datesConfiguration": {"updatedDateField": "mdate", "updatedDateFormat": "milliseconds"}`,
			func(r *pollconfig.Resource) bool { return r.Dates.CreatedField == "" }},
		{`"datesConfiguration": {"updatedDateField": "u", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssXXX", "updatedDateTimezone": "MST",
			"createdDateField": "c", "createdDateFormat": "EEE, d MMM yyyy HH:mm:ss Z", "createdDateTimezone": "America/Denver"}`, nil},
		{`"datesConfiguration": {"updatedDateField": "u", "updatedDateFormat": "yyyy", "updatedDateTimezone": "",
			"createdDateField": null, "createdDateFormat": null, "createdDateTimezone": "-8:00"}`, nil},
		{`"filterByUpdatedDate": false, "datesConfiguration": {"createdDateField": "c", "createdDateFormat": "yyyy"}`,
			func(r *pollconfig.Resource) bool { return r.Dates.UpdatedField == "" }},
	}
	for _, tt := range tests {
		in := withKeys(tt.extra)
		for _, v := range []json.RawMessage{in, asString(t, in)} {
			c, err := pollconfig.Parse(v, nil)
			if err != nil {
				t.Errorf("%s: %v", tt.extra, err)
				continue
			}
			if tt.check != nil && !tt.check(c.Resources["contacts"]) {
				t.Errorf("%s: got %+v", tt.extra, c.Resources["contacts"])
			}
			roundTrip(t, c)
		}
	}
}

func TestKeysInvalid(t *testing.T) {
	t.Parallel()
	const p = "event.poller.configuration.contacts"
	const dc = `"datesConfiguration": {"updatedDateField": "u", "updatedDateFormat": "yyyy", `
	tests := []struct {
		extra, field, msg string
	}{
		// Unknown keys, with and without suggestions.
		{`"filterByUpdateDate": false`, p + ".filterByUpdateDate", `did you mean "filterByUpdatedDate"?`},
		{`"idFeild": "x"`, p + ".idFeild", `did you mean "idField"?`},
		{`"PageSize": 5`, p + ".PageSize", `did you mean "pageSize"?`},
		{`"pollDelays": 5`, p + ".pollDelays", `did you mean "pollDelay"?`},
		{`"batchsize": 5`, p + ".batchsize", `did you mean "batchSize"?`},
		{`"bogus": 1`, p + ".bogus", `unknown key "bogus"; known keys: url, idField`},
		{`"updatedDateField": "x"`, p + ".updatedDateField", "belongs in datesConfiguration"},
		{`"datesConfiguration": {"updatedDateFeld": "x"}`, p + ".datesConfiguration.updatedDateFeld", `did you mean "updatedDateField"?`},
		{`"datesConfiguration": {"updatedDateTimeZone": "GMT"}`, p + ".datesConfiguration.updatedDateTimeZone", `did you mean "updatedDateTimezone"?`},
		{`"deletes": {"enable": true}`, p + ".deletes.enable", `did you mean "enabled"?`},
		{`"deletes": {"every": 5}`, p + ".deletes.every", "known keys: enabled, scanEveryMinutes, maxMissingShare"},
		{`"bogus": 1, "alsoBogus": 2`, p + ".alsoBogus", "unknown key"},

		// url.
		{`"url": "<delete>"`, p + ".url", "is required"},
		{`"url": null`, p + ".url", "is required"},
		{`"url": ""`, p + ".url", "is required"},
		{`"url": 5`, p + ".url", "must be a string, found number 5"},
		{`"url": "https://api.example.com/hubs/crm/contacts"`, p + ".url", "must be a hub-relative URL"},
		{`"url": "hubs/crm/contacts"`, p + ".url", "must be a hub-relative URL"},
		{`"url": "/hubs/crm"`, p + ".url", "names no resource"},
		{`"url": "/hubs/crm/"`, p + ".url", "empty"},
		{`"url": "/hubs//contacts"`, p + ".url", "empty"},
		{`"url": "/hubs/crm/../contacts"`, p + ".url", `".."`},
		{`"url": "/hubs/crm/con tacts"`, p + ".url", `contains ' '`},
		{`"url": "/hubs/c.rm/contacts"`, p + ".url", `contains '.'`},
		{`"url": "/hubs/crm/${epoch}"`, p + ".url", "template in its path"},
		{`"url": "/hubs/crm/contacts?where=a>'${epochSeconds}'"`, p + ".url", `unknown template variable "epochSeconds"`},
		{`"url": "/hubs/crm/contacts?where=a>'${gmtDate:yyyy-MM-dd'T'HH:mm:ssXXX'}'"`, p + ".url", "unterminated quote"},
		{`"url": "/hubs/crm/contacts?where=a>'${gmtDate:yyyy-MM-dd"`, p + ".url", "unterminated template variable at offset 28"},
		{`"url": "/hubs/crm/contacts?where=a>'${dateTimeZone:Mars/Olympus:yyyy}'"`, p + ".url", `unknown time zone "Mars/Olympus"`},
		{`"url": "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}"`, p + ".url", "ceql: at offset 18: unterminated string"},
		{`"url": "/hubs/crm/contacts?where=updated_after_utc=${gmtDate:yyyy-MM-dd HH:mm:ss}"`, p + ".url", "not valid CEQL: ceql: at offset"},
		{`"url": "/hubs/crm/contacts?where=a=1 b=2"`, p + ".url", `ceql: at offset 4: expected AND or OR`},
		{`"url": "/hubs/crm/contacts?where=a=1&where=b=2"`, p + ".url", "2 where parameters"},
		{`"url": "/hubs/crm/contacts?where=a=1&since=${epoch}"`, p + ".url", `template in query parameter "since"`},

		// idField.
		{`"idField": "<delete>"`, p + ".idField", "is required"},
		{`"idField": ""`, p + ".idField", "is required"},
		{`"idField": 7`, p + ".idField", "must be a string"},
		{`"idField": "user..id"`, p + ".idField", "empty path segment"},
		{`"idField": ".id"`, p + ".idField", "empty path segment"},
		{`"idField": " ID"`, p + ".idField", "leading or trailing spaces"},
		{`"idField": "I\tD"`, p + ".idField", "control character"},

		// datesConfiguration.
		{`"datesConfiguration": "<delete>"`, p + ".datesConfiguration.updatedDateField", "is required when filterByUpdatedDate is true"},
		{`"datesConfiguration": {}`, p + ".datesConfiguration.updatedDateField", "is required when filterByUpdatedDate is true"},
		{`"datesConfiguration": []`, p + ".datesConfiguration", "must be an object, found array"},
		{`"datesConfiguration": {"updatedDateField": 1}`, p + ".datesConfiguration.updatedDateField", "must be a string"},
		{`"datesConfiguration": {"updatedDateField": "u"}`, p + ".datesConfiguration.updatedDateFormat", "is required with updatedDateField"},
		{`"datesConfiguration": {"updatedDateFormat": "yyyy"}`, p + ".datesConfiguration.updatedDateField", "is required when filterByUpdatedDate"},
		{`"filterByUpdatedDate": false, "datesConfiguration": {"updatedDateFormat": "yyyy", "createdDateField": "c", "createdDateFormat": "yyyy"}`,
			p + ".datesConfiguration.updatedDateField", "is required with updatedDateFormat"},
		{`"datesConfiguration": {"updatedDateField": "u", "updatedDateFormat": "yyyy-MM-ddTHH:mm:ss"}`,
			p + ".datesConfiguration.updatedDateFormat", `illegal pattern character 'T' at offset 10`},
		{`"datesConfiguration": {"updatedDateField": "u", "updatedDateFormat": "YYYY-MM-dd"}`,
			p + ".datesConfiguration.updatedDateFormat", `compile "YYYY-MM-dd"`},
		{`"datesConfiguration": {"updatedDateField": "u", "updatedDateFormat": "yyyy", "updatedDateTimezone": "Mars/Olympus"}`,
			p + ".datesConfiguration.updatedDateTimezone", `unknown time zone "Mars/Olympus"`},
		{`"datesConfiguration": {"updatedDateField": "u", "updatedDateFormat": "yyyy", "updatedDateTimezone": "pst"}`,
			p + ".datesConfiguration.updatedDateTimezone", `unknown time zone "pst"`},
		{`"datesConfiguration": {"updatedDateField": "u.", "updatedDateFormat": "yyyy"}`, p + ".datesConfiguration.updatedDateField", "empty path segment"},
		{dc + `"createdDateField": "c"}`, p + ".datesConfiguration.createdDateFormat", "is required with createdDateField"},
		{dc + `"createdDateFormat": "yyyy"}`, p + ".datesConfiguration.createdDateField", "is required with createdDateFormat"},
		{dc + `"createdDateField": "c", "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ssXXX'"}`, p + ".datesConfiguration.createdDateFormat", "unterminated quote at offset 24"},
		{dc + `"createdDateTimezone": "Nowhere"}`, p + ".datesConfiguration.createdDateTimezone", `unknown time zone "Nowhere"`},
		{`"filterByUpdatedDate": false, ` + dc + `"createdDateTimezone": "GMT"}`, p + ".datesConfiguration.createdDateField", "is required when filterByUpdatedDate is false"},
		{`"filterByUpdatedDate": false, "filterByCurrentDate": true, "datesConfiguration": {"createdDateField": "c", "createdDateFormat": "yyyy"}`,
			p + ".datesConfiguration.updatedDateField", "is required when filterByCurrentDate is true"},

		// Booleans.
		{`"filterByUpdatedDate": "no"`, p + ".filterByUpdatedDate", `must be true or false, found string "no"`},
		{`"filterByUpdatedDate": 0`, p + ".filterByUpdatedDate", "must be true or false, found number 0"},
		{`"filterByCurrentDate": "yes"`, p + ".filterByCurrentDate", "must be true or false"},
		{`"filterByCurrentDate": {}`, p + ".filterByCurrentDate", "found object"},

		// Numbers.
		{`"createdCheckTolerance": -1`, p + ".createdCheckTolerance", "must be between 0 and 604800 seconds, found -1"},
		{`"createdCheckTolerance": 1.5`, p + ".createdCheckTolerance", "must be a whole number, found number 1.5"},
		{`"createdCheckTolerance": "ten"`, p + ".createdCheckTolerance", `must be a whole number, found string "ten"`},
		{`"pageSize": "abc"`, p + ".pageSize", `must be a whole number, found string "abc"`},
		{`"pageSize": 0`, p + ".pageSize", "must be between 1 and 500, found 0"},
		{`"pageSize": -5`, p + ".pageSize", "must be between 1 and 500, found -5"},
		{`"pageSize": 1e3`, p + ".pageSize", "must be a whole number"},
		{`"pageSize": 99999999999999999999`, p + ".pageSize", "out of range"},
		{`"pageSize": true`, p + ".pageSize", "found boolean"},
		{`"pollDelay": 604801`, p + ".pollDelay", "must be between 0 and 604800 seconds"},
		{`"pollDelay": "-1"`, p + ".pollDelay", "found -1"},
		{`"pollDelay": [1]`, p + ".pollDelay", "found array"},
		{`"overlap": -60`, p + ".overlap", "must be between 0 and 604800 seconds"},
		{`"overlap": "1m"`, p + ".overlap", "must be a whole number"},

		// deletes.
		{`"deletes": true`, p + ".deletes", "must be an object, found boolean"},
		{`"deletes": {"enabled": "on"}`, p + ".deletes.enabled", "must be true or false"},
		{`"deletes": {"scanEveryMinutes": 0}`, p + ".deletes.scanEveryMinutes", "must be between 1 and 43200 minutes, found 0"},
		{`"deletes": {"scanEveryMinutes": 43201}`, p + ".deletes.scanEveryMinutes", "must be between 1 and 43200 minutes"},
		{`"deletes": {"scanEveryMinutes": "hourly"}`, p + ".deletes.scanEveryMinutes", "must be a whole number"},
		{`"deletes": {"maxMissingShare": 0}`, p + ".deletes.maxMissingShare", "must be greater than 0 and at most 1, found 0"},
		{`"deletes": {"maxMissingShare": 1.5}`, p + ".deletes.maxMissingShare", "found 1.5"},
		{`"deletes": {"maxMissingShare": "NaN"}`, p + ".deletes.maxMissingShare", "must be a number"},
		{`"deletes": {"maxMissingShare": "x"}`, p + ".deletes.maxMissingShare", "must be a number"},
		{`"deletes": {"enabled": true, "enabled": false}`, p + ".deletes.enabled", "duplicate key"},
	}
	for _, tt := range tests {
		in := withKeys(tt.extra)
		for _, v := range []json.RawMessage{in, asString(t, in)} {
			_, err := pollconfig.Parse(v, nil)
			t.Run(tt.extra, func(t *testing.T) { checkError(t, err, tt.field, tt.msg) })
		}
	}
}

// TestResourceErrors covers resource-level shapes that withKeys cannot
// build.
func TestResourceErrors(t *testing.T) {
	t.Parallel()
	const p = "event.poller.configuration"
	tests := []struct {
		in, field, msg string
	}{
		{`{"contacts": null}`, p + ".contacts", "must be an object, found null"},
		{`{"contacts": "x"}`, p + ".contacts", `must be an object, found string "x"`},
		{`{"contacts": {"url": "/hubs/crm/contacts", "url": "/hubs/crm/contacts"}}`, p + ".contacts.url", "duplicate key"},
		{`{"contacts": {"datesConfiguration": {"updatedDateField": "a", "updatedDateField": "b"}}}`, p + ".contacts.datesConfiguration.updatedDateField", "duplicate key"},
		// Resources are checked in name order, whatever the input order.
		{`{"zeta": {"url": 1}, "alpha": {"url": 2}}`, p + ".alpha.url", "must be a string"},
		// Unknown keys are reported before other problems, in sorted order.
		{`{"contacts": {"url": 1, "zz": 1, "aa": 2}}`, p + ".contacts.aa", "unknown key"},
		// Decoding problems come before validation ones.
		{`{"contacts": {"pageSize": "x"}}`, p + ".contacts.pageSize", "must be a whole number"},
		{`{"contacts": {"pageSize": 5}}`, p + ".contacts.url", "is required"},
		{`{"calendars/{calendarId}/changed-events": {"url": "/hubs/general/calendars/{calendarId}/changed-events", "idField": "id"}}`,
			p + ".calendars/{calendarId}/changed-events.datesConfiguration.updatedDateField", "is required"},
	}
	for _, tt := range tests {
		_, err := pollconfig.Parse(json.RawMessage(tt.in), nil)
		t.Run(tt.in, func(t *testing.T) { checkError(t, err, tt.field, tt.msg) })
	}
}

// TestErrorDeterministic parses the same bad input many times: the first
// error must not depend on map iteration order.
func TestErrorDeterministic(t *testing.T) {
	t.Parallel()
	in := json.RawMessage(`{"b": {"x": 1, "y": 2, "url": 3}, "a": {"pageSize": "p", "pollDelay": "q", "zz": 1, "ab": 2}, "c": {}}`)
	_, first := pollconfig.Parse(in, nil)
	for i := range 50 {
		if _, err := pollconfig.Parse(in, nil); err.Error() != first.Error() {
			t.Fatalf("run %d: %v, first run: %v", i, err, first)
		}
	}
	checkError(t, first, "event.poller.configuration.a.ab", "unknown key")
}

func TestMarshalCanonical(t *testing.T) {
	t.Parallel()
	in := json.RawMessage(`{"contacts": {"pollDelay": "30", "pageSize": 10000, "filterByUpdatedDate": "false", "filterByCurrentDate": "true",
		"url": "/hubs/crm/contacts?where=update_time >= '${gmtDate:yyyy-MM-dd HH:mm:ss}'&pageSize=5",
		"idField": "user.id", "updatedDateTimezone": "MST", "parameters": {"z": 1.50, "a": [true, null]},
		"overlap": 120, "createdCheckTolerance": 10, "deletes": {"enabled": true, "scanEveryMinutes": 60, "maxMissingShare": "0.5"},
		"datesConfiguration": {"updatedDateField": "update_time", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss", "updatedDateTimezone": "GMT",
		"createdDateField": "add_time", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}}}`)
	c, err := pollconfig.Parse(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	want := `{"contacts":{"datesConfiguration":{"createdDateField":"add_time","createdDateFormat":"yyyy-MM-dd HH:mm:ss",` +
		`"updatedDateField":"update_time","updatedDateFormat":"yyyy-MM-dd HH:mm:ss","updatedDateTimezone":"GMT"},` +
		`"deletes":{"maxMissingShare":0.5},"filterByCurrentDate":true,"filterByUpdatedDate":false,` +
		`"idField":"user.id","overlap":120,"parameters":{"a":[true,null],"z":1.50},"pollDelay":30,` +
		`"updatedDateTimezone":"MST","url":"/hubs/crm/contacts?where=update_time >= '${gmtDate:yyyy-MM-dd HH:mm:ss}'&pageSize=5"}}`
	if got != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}

	// UnmarshalJSON is Parse without defaults.
	var c2 pollconfig.Config
	if err := json.Unmarshal([]byte(got), &c2); err != nil || !reflect.DeepEqual(&c2, c) {
		t.Errorf("UnmarshalJSON = %v, %+v", err, c2)
	}
	if err := json.Unmarshal([]byte(`{"contacts": {}}`), &c2); err == nil {
		t.Error("UnmarshalJSON accepted an empty resource without defaults")
	}
}

func TestMarshalRejectsUnencodable(t *testing.T) {
	t.Parallel()
	def, _ := pollconfig.Parse(readTestdata(t, "insightly-default.json"), nil)
	for name, mutate := range map[string]func(r *pollconfig.Resource){
		"fractional seconds": func(r *pollconfig.Resource) { r.PollDelay = 1500 * time.Millisecond },
		"fractional minutes": func(r *pollconfig.Resource) { r.Deletes.Interval = 90 * time.Second },
		"unknown extra":      func(r *pollconfig.Resource) { r.Extra = map[string]json.RawMessage{"url": json.RawMessage(`"x"`)} },
	} {
		c := &pollconfig.Config{Resources: map[string]*pollconfig.Resource{}}
		r := *def.Resources["contacts"]
		mutate(&r)
		c.Resources["contacts"] = &r
		if b, err := json.Marshal(c); err == nil {
			t.Errorf("%s: Marshal = %s, want an error", name, b)
		}
	}
}

func TestCompileHandBuilt(t *testing.T) {
	t.Parallel()
	def, _ := pollconfig.Parse(readTestdata(t, "insightly-default.json"), nil)
	const p = "event.poller.configuration.contacts"
	tests := []struct {
		mutate     func(r *pollconfig.Resource)
		field, msg string
	}{
		{func(r *pollconfig.Resource) { r.PageSize = 0 }, p + ".pageSize", "between 1 and 500"},
		{func(r *pollconfig.Resource) { r.PageSize = 10000 }, p + ".pageSize", "between 1 and 500"},
		{func(r *pollconfig.Resource) { r.PollDelay = -time.Second }, p + ".pollDelay", "between 0 and"},
		{func(r *pollconfig.Resource) { r.Overlap = time.Millisecond }, p + ".overlap", "whole number of seconds"},
		{func(r *pollconfig.Resource) { r.CreatedCheckTolerance = 8 * 24 * time.Hour }, p + ".createdCheckTolerance", "between 0 and"},
		{func(r *pollconfig.Resource) { r.Deletes.Interval = 0 }, p + ".deletes.scanEveryMinutes", "between 1 and"},
		{func(r *pollconfig.Resource) { r.Deletes.Interval = 30 * time.Second }, p + ".deletes.scanEveryMinutes", "whole number of minutes"},
		{func(r *pollconfig.Resource) { r.Deletes.MaxMissingRatio = 0 }, p + ".deletes.maxMissingShare", "greater than 0"},
		// Without a Name, fields hang directly off the root key.
		{func(r *pollconfig.Resource) { r.Name, r.PageSize = "", 0 }, "event.poller.configuration.pageSize", "between 1 and 500"},
	}
	for _, tt := range tests {
		r := *def.Resources["contacts"]
		tt.mutate(&r)
		_, err := r.Compile()
		checkError(t, err, tt.field, tt.msg)
	}
}

func TestNamesSorted(t *testing.T) {
	t.Parallel()
	c, err := pollconfig.Parse(readTestdata(t, "insightly-default.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := c.Names()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("Names() = %v, not sorted", names)
		}
	}
	if got := (&pollconfig.Config{}).Names(); len(got) != 0 {
		t.Errorf("empty Config Names() = %v", got)
	}
}
