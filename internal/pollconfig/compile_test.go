package pollconfig_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/pollconfig"
)

// compile parses a one-resource configuration and compiles the resource.
func compile(t *testing.T, cfg string) *pollconfig.Compiled {
	t.Helper()
	c, err := pollconfig.Parse(json.RawMessage(cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Resources) != 1 {
		t.Fatalf("want one resource, got %v", c.Names())
	}
	cc, err := c.Resources[c.Names()[0]].Compile()
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func whereString(t *testing.T, c *pollconfig.Compiled, from, now time.Time) string {
	t.Helper()
	e, err := c.Where(from, now)
	if err != nil {
		t.Fatal(err)
	}
	if e == nil {
		return "<nil>"
	}
	return e.String()
}

var (
	from = time.Date(2025, 4, 22, 20, 3, 25, 0, time.UTC)
	now  = from.Add(5 * time.Minute)
)

func TestCompileInsightly(t *testing.T) {
	t.Parallel()
	def, err := pollconfig.Parse(readTestdata(t, "insightly-default.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := def.Resources["contacts"].Compile()
	if err != nil {
		t.Fatal(err)
	}
	if c.Hub != "crm" || c.Resource != "contacts" || len(c.Query) != 0 {
		t.Errorf("Hub, Resource, Query = %q, %q, %v", c.Hub, c.Resource, c.Query)
	}
	if c.Template.String() != def.Resources["contacts"].URL {
		t.Errorf("Template = %q", c.Template)
	}
	if got, want := whereString(t, c, from, now), "updated_after_utc = '2025-04-22 20:03:25'"; got != want {
		t.Errorf("Where = %s, want %s", got, want)
	}
	// The window start is rendered in GMT whatever the zone of from.
	denver, _ := time.LoadLocation("America/Denver")
	if got, want := whereString(t, c, from.In(denver), now), "updated_after_utc = '2025-04-22 20:03:25'"; got != want {
		t.Errorf("Where (Denver from) = %s, want %s", got, want)
	}

	rec := element.NewRecord(json.RawMessage(`{"CONTACT_ID": 123, "FIRST_NAME": "Ada",
		"DATE_CREATED_UTC": "2025-04-01 08:00:00", "DATE_UPDATED_UTC": "2025-04-22 20:03:25"}`))
	upd, err := c.Updated(rec.Lookup)
	if err != nil || !upd.Equal(time.Date(2025, 4, 22, 20, 3, 25, 0, time.UTC)) {
		t.Errorf("Updated = %v, %v", upd, err)
	}
	if _, off := upd.Zone(); off != 0 {
		t.Errorf("Updated zone offset %d, want GMT", off)
	}
	cre, err := c.Created(rec.Lookup)
	if err != nil || !cre.Equal(time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("Created = %v, %v", cre, err)
	}

	// The compiled form is a copy: changing the resource later changes
	// nothing.
	def.Resources["contacts"].Dates.UpdatedField = "NOPE"
	if _, err := c.Updated(rec.Lookup); err != nil || c.Config.Dates.UpdatedField != "DATE_UPDATED_UTC" {
		t.Errorf("Compiled shares the resource: %v", err)
	}
}

func TestCompileDeals(t *testing.T) {
	t.Parallel()
	c := compile(t, string(readTestdata(t, "ce-deals.json")))
	if c.Hub != "marketing" || c.Resource != "deals" {
		t.Errorf("Hub, Resource = %q, %q", c.Hub, c.Resource)
	}
	if got, want := whereString(t, c, from, now), "mdate >= '2017-02-28T16:11:29-06:00'"; got != want {
		t.Errorf("Where = %s, want %s", got, want)
	}
	rec := element.NewRecord(json.RawMessage(`{"id": "7", "mdate": "2017-03-01T10:00:00-06:00", "cdate": "2017-03-01T09:59:30Z"}`))
	upd, err := c.Updated(rec.Lookup)
	if err != nil || !upd.Equal(time.Date(2017, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("Updated = %v, %v", upd, err)
	}
	cre, err := c.Created(rec.Lookup)
	if err != nil || !cre.Equal(time.Date(2017, 3, 1, 9, 59, 30, 0, time.UTC)) {
		t.Errorf("Created = %v, %v", cre, err)
	}
}

func TestCompileArchiveContacts(t *testing.T) {
	t.Parallel()
	c := compile(t, string(readTestdata(t, "ce-contacts-archive.json")))
	if got, want := whereString(t, c, from, now), "update_time >= '2025-04-22 20:03:25'"; got != want {
		t.Errorf("Where = %s, want %s", got, want)
	}
	rec := element.NewRecord(json.RawMessage(`{"user": {"id": 5}, "update_time": "2025-04-22 20:03:25", "add_time": "2025-04-22 20:03:24"}`))
	if _, err := c.Created(rec.Lookup); err != nil {
		t.Error(err)
	}
	if v, ok := rec.Lookup(c.Config.IDField); !ok || v.(json.Number) != "5" {
		t.Errorf("idField user.id = %v, %v", v, ok)
	}
}

func TestDateFormats(t *testing.T) {
	t.Parallel()
	want := time.Date(2025, 4, 22, 20, 3, 25, 0, time.UTC)
	tests := []struct {
		dates  string
		record string
	}{
		{`"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss", "updatedDateTimezone": "GMT"`,
			`{"DATE_UPDATED_UTC": "2025-04-22 20:03:25"}`},
		{`"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss"`, // GMT by default
			`{"DATE_UPDATED_UTC": "2025-04-22 20:03:25"}`},
		{`"updatedDateField": "mdate", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssXXX"`,
			`{"mdate": "2025-04-22T14:03:25-06:00"}`},
		{`"updatedDateField": "mdate", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssXXX", "updatedDateTimezone": "Asia/Tokyo"`,
			`{"mdate": "2025-04-22T20:03:25Z"}`}, // the text's zone wins
		{`"updatedDateField": "u", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss", "updatedDateTimezone": "MST"`,
			`{"u": "2025-04-22 13:03:25"}`},
		{`"updatedDateField": "u", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss", "updatedDateTimezone": "-8:00"`,
			`{"u": "2025-04-22 12:03:25"}`},
		{`"updatedDateField": "u", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss", "updatedDateTimezone": "America/Denver"`,
			`{"u": "2025-04-22 14:03:25"}`},
		{`"updatedDateField": "hs.lastmodified", "updatedDateFormat": "milliseconds"`,
			`{"hs": {"lastmodified": 1745352205000}}`},
		{`"updatedDateField": "hs.lastmodified", "updatedDateFormat": "milliseconds"`,
			`{"hs": {"lastmodified": "1745352205000"}}`},
		{`"updatedDateField": "d", "updatedDateFormat": "yyyyMMddHHmmss"`,
			`{"d": 20250422200325}`},
		{`"updatedDateField": "LINKS.0.d", "updatedDateFormat": "EEE, d MMM yyyy HH:mm:ss Z"`,
			`{"LINKS": [{"d": "Tue, 22 Apr 2025 20:03:25 +0000"}]}`},
	}
	for _, tt := range tests {
		c := compile(t, `{"r": {"url": "/hubs/crm/r", "idField": "id", "datesConfiguration": {`+tt.dates+`}}}`)
		rec := element.NewRecord(json.RawMessage(tt.record))
		got, err := c.Updated(rec.Lookup)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s on %s = %v, %v; want %v", tt.dates, tt.record, got, err, want)
		}
	}
}

func TestDateValueTypes(t *testing.T) {
	t.Parallel()
	c := compile(t, `{"r": {"url": "/hubs/crm/r", "idField": "id", "datesConfiguration": {"updatedDateField": "ms", "updatedDateFormat": "milliseconds"}}}`)
	want := time.UnixMilli(1745352205000)
	for _, v := range []any{float64(1745352205000), json.Number("1745352205000"), int64(1745352205000), 1745352205000, "1745352205000"} {
		got, err := c.Updated(func(string) (any, bool) { return v, true })
		if err != nil || !got.Equal(want) {
			t.Errorf("Updated(%T %v) = %v, %v", v, v, got, err)
		}
	}
	for _, tt := range []struct {
		v   any
		ok  bool
		msg string
	}{
		{nil, false, `no updatedDateField "ms"`},
		{nil, true, "is null"},
		{true, true, "is a bool"},
		{map[string]any{}, true, "is a map"},
		{1.5, true, "expected epoch milliseconds digit"},
		{"soon", true, `"soon"`},
	} {
		_, err := c.Updated(func(string) (any, bool) { return tt.v, tt.ok })
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Updated(%v, %v) error = %v, want ...%q...", tt.v, tt.ok, err, tt.msg)
		}
	}
	// No created date configured: every event is UPDATED.
	_, err := c.Created(func(string) (any, bool) { return "x", true })
	if !errors.Is(err, pollconfig.ErrNotConfigured) {
		t.Errorf("Created without createdDateField = %v, want ErrNotConfigured", err)
	}
	if c.CreatedFormat != nil || c.CreatedLoc != nil {
		t.Errorf("CreatedFormat, CreatedLoc = %v, %v; want nil", c.CreatedFormat, c.CreatedLoc)
	}
	// Only the created date configured (filterByUpdatedDate false).
	c = compile(t, `{"r": {"url": "/hubs/crm/r", "idField": "id", "filterByUpdatedDate": "false",
		"datesConfiguration": {"createdDateField": "c", "createdDateFormat": "yyyy-MM-dd"}}}`)
	if _, err := c.Updated(func(string) (any, bool) { return "x", true }); !errors.Is(err, pollconfig.ErrNotConfigured) {
		t.Errorf("Updated without updatedDateField = %v, want ErrNotConfigured", err)
	}
	if got, err := c.Created(func(string) (any, bool) { return "2025-04-22", true }); err != nil || !got.Equal(time.Date(2025, 4, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Created = %v, %v", got, err)
	}
}

func TestWhereAndQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, where string
		query      url.Values
		resource   string
	}{
		{"/hubs/crm/contacts", "<nil>", url.Values{}, "contacts"},
		{"/hubs/crm/contacts?where=", "<nil>", url.Values{}, "contacts"},
		{"/hubs/crm/contacts?pageSize=5&orderBy=DATE_UPDATED_UTC+desc", "<nil>",
			url.Values{"pageSize": {"5"}, "orderBy": {"DATE_UPDATED_UTC desc"}}, "contacts"},
		{"/hubs/crm/contacts?pageSize=5&where=updated_after_utc%3D%27${gmtDate:yyyy-MM-dd+HH:mm:ss}%27&&flag",
			"updated_after_utc = '2025-04-22 20:03:25'", url.Values{"pageSize": {"5"}, "flag": {""}}, "contacts"},
		{"/hubs/crm/contacts?where=NAME LIKE '%smith%' AND DATE_UPDATED_UTC >= '${gmtDate:yyyy-MM-dd}'",
			"NAME LIKE '%smith%' AND DATE_UPDATED_UTC >= '2025-04-22'", url.Values{}, "contacts"},
		{"/hubs/crm/contacts?where=ts > ${epoch:s} AND ts <= ${epoch}",
			"ts > 1745352205 AND ts <= 1745352205000", url.Values{}, "contacts"},
		{"/hubs/crm/contacts?where=a >= '${dateTimeZone:MST:yyyy-MM-dd HH:mm}' AND a < '${nowTimeZone:MST:yyyy-MM-dd HH:mm}'",
			"a >= '2025-04-22 13:03' AND a < '2025-04-22 13:08'", url.Values{}, "contacts"},
		{"/hubs/crm/accounts/{id}/addresses?where=x=1", "x = 1", url.Values{}, "accounts/{id}/addresses"},
		{"/hubs/general/{objectName}?where=x=1", "x = 1", url.Values{}, "{objectName}"},
	}
	for _, tt := range tests {
		b, _ := json.Marshal(map[string]any{"r": map[string]any{"url": tt.url, "idField": "id",
			"datesConfiguration": map[string]string{"updatedDateField": "u", "updatedDateFormat": "yyyy"}}})
		c := compile(t, string(b))
		if got := whereString(t, c, from, now); got != tt.where {
			t.Errorf("%s: Where = %s, want %s", tt.url, got, tt.where)
		}
		if !reflect.DeepEqual(c.Query, tt.query) {
			t.Errorf("%s: Query = %v, want %v", tt.url, c.Query, tt.query)
		}
		if c.Resource != tt.resource {
			t.Errorf("%s: Resource = %q, want %q", tt.url, c.Resource, tt.resource)
		}
	}
}

// TestCompiledConcurrent uses one Compiled from many goroutines, as the
// poller will; run with -race.
func TestCompiledConcurrent(t *testing.T) {
	t.Parallel()
	c := compile(t, string(readTestdata(t, "ce-deals.json")))
	rec := element.NewRecord(json.RawMessage(`{"id": "7", "mdate": "2017-03-01T10:00:00-06:00", "cdate": "2017-03-01T09:59:30Z"}`))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				f := from.Add(time.Duration(i*50+j) * time.Second)
				if _, err := c.Where(f, f.Add(time.Minute)); err != nil {
					t.Error(err)
				}
				if _, err := c.Updated(rec.Lookup); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
