package insightly

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/ceql"
	"github.com/pollhook/pollhook/internal/netguard"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// urlLog records the URLs that reach the simulator, to see what was pushed down.
type urlLog struct {
	mu   sync.Mutex
	urls []string
	next http.RoundTripper
}

func (l *urlLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.urls = append(l.urls, r.URL.RequestURI())
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *urlLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.urls
	l.urls = nil
	return out
}

type hubBundle struct {
	sim  *sim.Sim
	srv  string
	log  *urlLog
	el   *Element
	conn element.Conn
}

func setupHub(t *testing.T, cfg sim.Config, opts Options) (element.Conn, *hubBundle) {
	t.Helper()
	clock := sim.NewManualClock(t0)
	cfg.Now = clock.Now
	cfg.RateLimit = -1
	s := sim.New(cfg)
	srv := newServer(t, s)
	log := &urlLog{next: http.DefaultTransport}
	opts.HTTPClient = &http.Client{Transport: log}
	opts.Limits = NewLimits(1000, 4)
	opts.Upstreams.Allow = netguard.AllowList{{Host: "127.0.0.1"}}
	el := NewElement(opts)
	conn, err := el.Open(map[string]string{ConfigPassword: s.APIKey(), ConfigBaseURL: srv + "/v3.1"})
	if err != nil {
		t.Fatal(err)
	}
	return conn, &hubBundle{sim: s, srv: srv, log: log, el: el, conn: conn}
}

func newServer(t *testing.T, s *sim.Sim) string {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func wantStatus(t *testing.T, err error, status int, msg string) {
	t.Helper()
	if got := element.StatusOf(err); err == nil || got != status || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %v (status %d), want status %d mentioning %q", err, got, status, msg)
	}
}

func TestOpenValidatesConfiguration(t *testing.T) {
	t.Parallel()
	el := NewElement(Options{})
	for _, tc := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{}, "configuration.password: is required"},
		{map[string]string{ConfigPassword: "  "}, "password"},
		{map[string]string{ConfigPassword: "k", ConfigPod: "eu-1"}, "configuration.insightly.pod: pod"},
		{map[string]string{ConfigPassword: "k", ConfigBaseURL: "ftp://x"}, "configuration.base.url: base URL"},
	} {
		_, err := el.Open(tc.cfg)
		wantStatus(t, err, 400, tc.want)
	}
	if _, err := el.Open(map[string]string{ConfigPassword: "k", ConfigPod: "eu1"}); err != nil {
		t.Errorf("a pod: %v", err)
	}
	var pc map[string]struct {
		URL     string `json:"url"`
		IDField string `json:"idField"`
	}
	if err := json.Unmarshal(el.DefaultPollerConfig(), &pc); err != nil || len(pc) != 4 ||
		pc["leads"].IDField != "LEAD_ID" || pc["opportunities"].IDField != "OPPORTUNITY_ID" ||
		pc["accounts"].URL != "/hubs/crm/accounts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'" {
		t.Errorf("default poller config: %v %+v", err, pc)
	}
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	conn, b := setupHub(t, sim.Config{}, Options{})
	id, err := conn.Identify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(b.srv, "http://")
	if id.Account != host+"/acme" || id.Name != "Acme Ltd" || id.Plan != "Professional" || !strings.Contains(id.User, "@acme.example") {
		t.Errorf("identity %+v", id)
	}
	bad, _ := b.el.Open(map[string]string{ConfigPassword: "wrong", ConfigBaseURL: b.srv + "/v3.1"})
	_, err = bad.Identify(context.Background())
	wantStatus(t, err, 401, "refused the instance's API key")
}

func TestResourceMapping(t *testing.T) {
	t.Parallel()
	conn, b := setupHub(t, sim.Config{Records: 12}, Options{})
	ctx := context.Background()
	for res, wantPath := range map[string]string{
		"accounts": "/v3.1/Organisations", "contacts": "/v3.1/Contacts", "leads": "/v3.1/Leads",
		"opportunities": "/v3.1/Opportunities", "users": "/v3.1/Users", "activities": "/v3.1/ActivitySets",
		"Tasks": "/v3.1/Tasks", "Fruit__c": "/v3.1/Fruit__c", "me": "/v3.1/Users/Me",
	} {
		out, err := conn.List(ctx, res, element.ListRequest{})
		if err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		if len(out.Records) == 0 {
			t.Errorf("%s: no records", res)
		}
		if urls := b.log.take(); len(urls) != 1 || !strings.HasPrefix(urls[0], wantPath) {
			t.Errorf("%s called %v, want %s", res, urls, wantPath)
		}
	}
	_, err := conn.List(ctx, "Ticket", element.ListRequest{})
	wantStatus(t, err, 403, "API User does not have access to Ticket.")
	_, err = conn.List(ctx, "Product", element.ListRequest{})
	wantStatus(t, err, 404, "no such record or object")
	_, err = conn.List(ctx, "../Users", element.ListRequest{})
	wantStatus(t, err, 400, "not an Insightly object name")
}

// Records pass through the hub unchanged: recorded Insightly records come
// out byte for byte as they went in.
func TestFixturesRoundTripThroughTheHub(t *testing.T) {
	t.Parallel()
	conn, b := setupHub(t, sim.Config{}, Options{})
	ctx := context.Background()
	for _, tc := range []struct{ file, object, resource, id string }{
		{"contact.json", "Contacts", "contacts", "366638973"},
		{"lead.json", "Leads", "leads", "78563840"},
		{"fruit.json", "Fruit__c", "Fruit__c", "54840676"},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "sim", "insightly", "testdata", "fixtures", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		dec.Decode(&rec)
		if err := b.sim.Load(b.sim.APIKey(), tc.object, rec); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		json.Compact(&want, raw)
		got, err := conn.Get(ctx, tc.resource, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Record, want.Bytes()) {
			t.Errorf("%s via Get:\n got %s\nwant %s", tc.file, got.Record, want.Bytes())
		}
		list, err := conn.List(ctx, tc.resource, element.ListRequest{Where: "DATE_CREATED_UTC >= '2025-01-01'"})
		if err != nil || len(list.Records) != 1 || !bytes.Equal(list.Records[0], want.Bytes()) {
			t.Errorf("%s via List: %v %s", tc.file, err, list.Records)
		}
	}
}

// listAll pages through a list with nextPage tokens.
func listAll(t *testing.T, conn element.Conn, res, where string, size int) ([]json.RawMessage, int) {
	t.Helper()
	var all []json.RawMessage
	req := element.ListRequest{Where: where, PageSize: size}
	pages := 0
	for {
		out, err := conn.List(context.Background(), res, req)
		if err != nil {
			t.Fatalf("page %d of %q: %v", pages+1, where, err)
		}
		pages++
		if len(out.Records) > size {
			t.Fatalf("page of %d records, size %d", len(out.Records), size)
		}
		all = append(all, out.Records...)
		if out.NextPage == "" {
			return all, pages
		}
		req.NextPage = out.NextPage
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
	}
}

func idsOf(t *testing.T, raws []json.RawMessage, pk string) []int64 {
	t.Helper()
	var out []int64
	for _, r := range raws {
		id, ok := element.NewRecord(r).ID(pk)
		if !ok {
			t.Fatalf("record without %s: %s", pk, r)
		}
		out = append(out, id)
	}
	return out
}

// truthIDs filters the simulator's records with a Go predicate: the
// independent answer a where clause must give.
func truthIDs(t *testing.T, s *sim.Sim, object, pk string, keep func(map[string]any) bool) []int64 {
	t.Helper()
	recs, err := s.Records(s.APIKey(), object)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, r := range recs {
		if keep(r) {
			out = append(out, r[pk].(int64))
		}
	}
	return out
}

func customField(r map[string]any, name string) any {
	for _, e := range r["CUSTOMFIELDS"].([]any) {
		if m := e.(map[string]any); m["FIELD_NAME"] == name {
			return m["FIELD_VALUE"]
		}
	}
	return nil
}

func hasTag(r map[string]any, tag string) bool {
	for _, e := range r["TAGS"].([]any) {
		if strings.EqualFold(e.(map[string]any)["TAG_NAME"].(string), tag) {
			return true
		}
	}
	return false
}

func TestListWhere(t *testing.T) {
	t.Parallel()
	conn, b := setupHub(t, sim.Config{Records: 250, Seed: 5}, Options{})
	cutoff := "2025-06-01 00:00:00"
	cases := []struct {
		where    string
		pushed   string // a query parameter the first request must carry
		residual bool   // whether pollhook filters locally
		keep     func(map[string]any) bool
	}{
		{"", "", false, func(map[string]any) bool { return true }},
		{"updated_after_utc='" + cutoff + "'", "updated_after_utc=2025-06-01T00%3A00%3A00Z", false,
			func(r map[string]any) bool { return r["DATE_UPDATED_UTC"].(string) > cutoff }},
		{"updated_after_utc >= '2025-06-01T00:00:00Z'", "updated_after_utc=2025-05-31T23%3A59%3A59Z", true,
			func(r map[string]any) bool { return r["DATE_UPDATED_UTC"].(string) >= cutoff }},
		{"DATE_UPDATED_UTC > '" + cutoff + "' AND ADDRESS_MAIL_COUNTRY = 'norway'", "updated_after_utc=", true,
			func(r map[string]any) bool {
				return r["DATE_UPDATED_UTC"].(string) > cutoff && r["ADDRESS_MAIL_COUNTRY"] == "Norway"
			}},
		{"ADDRESS_MAIL_COUNTRY = 'Norway'", "field_name=ADDRESS_MAIL_COUNTRY", false,
			func(r map[string]any) bool { return r["ADDRESS_MAIL_COUNTRY"] == "Norway" }},
		{"tag = 'VIP'", "tagName=VIP", false, func(r map[string]any) bool { return hasTag(r, "VIP") }},
		{"tag = 'VIP' AND tag = 'Partner'", "tagName=VIP", true,
			func(r map[string]any) bool { return hasTag(r, "VIP") && hasTag(r, "Partner") }},
		{"Hobby__c = 'Chess'", "field_name=Hobby__c", false, func(r map[string]any) bool { return customField(r, "Hobby__c") == "Chess" }},
		{"LAST_NAME LIKE 'H%' OR EMAIL_OPTED_OUT = true", "", true, func(r map[string]any) bool {
			return strings.HasPrefix(strings.ToUpper(r["LAST_NAME"].(string)), "H") || r["EMAIL_OPTED_OUT"] == true
		}},
		{"TITLE IS NULL AND ADDRESS_MAIL_COUNTRY IN ('Norway', 'Japan')", "", true, func(r map[string]any) bool {
			return r["TITLE"] == nil && (r["ADDRESS_MAIL_COUNTRY"] == "Norway" || r["ADDRESS_MAIL_COUNTRY"] == "Japan")
		}},
		{"updated_after_utc = '" + cutoff + "' OR tag = 'Paris'", "", true, func(r map[string]any) bool {
			return r["DATE_UPDATED_UTC"].(string) > cutoff || hasTag(r, "Paris")
		}},
	}
	for _, tc := range cases {
		want := truthIDs(t, b.sim, "Contacts", "CONTACT_ID", tc.keep)
		if len(want) == 0 && tc.where != "" {
			t.Fatalf("%q: the seed gives no matching contacts; pick another", tc.where)
		}
		for _, size := range []int{500, 40} {
			b.log.take()
			got, pages := listAll(t, conn, "contacts", tc.where, size)
			if ids := idsOf(t, got, "CONTACT_ID"); !slices.Equal(ids, want) {
				t.Errorf("%q size %d: %d records, want %d", tc.where, size, len(ids), len(want))
			}
			urls := b.log.take()
			if tc.pushed != "" && !strings.Contains(urls[0], tc.pushed) {
				t.Errorf("%q: first request %s lacks %s", tc.where, urls[0], tc.pushed)
			}
			// Exact push-downs page upstream, one request per page.
			if !tc.residual && len(urls) != pages {
				t.Errorf("%q size %d: %d requests for %d pages", tc.where, size, len(urls), pages)
			}
		}
	}
}

func TestListPagingAndErrors(t *testing.T) {
	t.Parallel()
	conn, b := setupHub(t, sim.Config{Records: 30}, Options{ScanLimit: 10})
	ctx := context.Background()
	all := truthIDs(t, b.sim, "Contacts", "CONTACT_ID", func(map[string]any) bool { return true })
	out, err := conn.List(ctx, "contacts", element.ListRequest{Page: 2, PageSize: 7})
	if err != nil || !slices.Equal(idsOf(t, out.Records, "CONTACT_ID"), all[7:14]) || out.NextPage == "" {
		t.Errorf("page 2: %v %v", err, out)
	}
	last, err := conn.List(ctx, "contacts", element.ListRequest{Page: 5, PageSize: 7})
	if err != nil || len(last.Records) != 2 || last.NextPage != "" {
		t.Errorf("last page: %v, %d records, token %q", err, len(last.Records), last.NextPage)
	}
	cases := []struct {
		req  element.ListRequest
		want string
	}{
		{element.ListRequest{PageSize: 501}, "pageSize: 501 is not between 1 and 500"},
		{element.ListRequest{NextPage: "garbage"}, "nextPage: not a page token"},
		{element.ListRequest{NextPage: out.NextPage, Where: "LAST_NAME = 'x'"}, "different where clause"},
		{element.ListRequest{Where: "LAST_NAME = "}, "where: ceql: at offset 12"},
		{element.ListRequest{Where: "updated_after_utc < '2020-01-01'"}, "use =, > or >="},
		{element.ListRequest{Where: "updated_after_utc = 'yesterday'"}, "is not a date-time"},
		{element.ListRequest{Where: "updated_after_utc LIKE '2020%'"}, "supports only"},
		{element.ListRequest{Where: "LAST_NAME LIKE '%a%'"}, "more than 10 records"},
		{element.ListRequest{Where: "EMAIL_OPTED_OUT < 3 AND updated_after_utc = '2000-01-01'"}, "where:"},
	}
	for _, tc := range cases {
		_, err := conn.List(ctx, "contacts", tc.req)
		wantStatus(t, err, 400, tc.want)
	}
}

// A page number whose offset Insightly cannot take is a 400 naming the
// parameter, whether asked for with page or carried by a forged token:
// (page-1)*pageSize once overflowed and served page 1.
func TestListRefusesPagesBeyondInsightly(t *testing.T) {
	t.Parallel()
	conn, _ := setupHub(t, sim.Config{Records: 30}, Options{ScanLimit: 1000})
	ctx := context.Background()
	forge := func(fields string) string { return base64.RawURLEncoding.EncodeToString([]byte("{" + fields + "}")) }
	residual := "LAST_NAME LIKE '%a%'"
	cases := []struct {
		req  element.ListRequest
		want string
	}{
		{element.ListRequest{Page: math.MaxInt}, "page: "},
		{element.ListRequest{Page: math.MaxInt, PageSize: 500}, "page: "},
		{element.ListRequest{Page: MaxSkip/200 + 2}, "page: "},
		{element.ListRequest{Page: MaxSkip/7 + 2, PageSize: 7}, "page: "},
		{element.ListRequest{Page: math.MaxInt/3 + 2, PageSize: 3}, "page: "}, // wraps to a small positive skip
		{element.ListRequest{Page: math.MaxInt, Where: residual}, "page: "},
		{element.ListRequest{NextPage: forge(`"page":9223372036854775807,"pageSize":500`)}, "nextPage: "},
		{element.ListRequest{NextPage: forge(`"page":` + strconv.Itoa(MaxSkip/500+2) + `,"pageSize":500`)}, "nextPage: "},
		{element.ListRequest{NextPage: forge(`"page":6148914691236517207,"pageSize":3`)}, "nextPage: "},
		{element.ListRequest{NextPage: forge(`"page":2,"pageSize":10,"skip":9223372036854775807,"where":"` + whereDigest(residual) + `"`), Where: residual}, "nextPage: "},
		{element.ListRequest{NextPage: forge(`"page":99999999999999999999,"pageSize":10`)}, "nextPage: "},
	}
	for _, tc := range cases {
		out, err := conn.List(ctx, "contacts", tc.req)
		if err == nil {
			t.Errorf("page %d, token %q: %d records, want a 400", tc.req.Page, tc.req.NextPage, len(out.Records))
			continue
		}
		wantStatus(t, err, 400, tc.want)
	}
	// The last page Insightly can take is served (empty: there are 30 records).
	out, err := conn.List(ctx, "contacts", element.ListRequest{Page: MaxSkip/500 + 1, PageSize: 500})
	if err != nil || len(out.Records) != 0 || out.NextPage != "" {
		t.Errorf("the last page: %v %v", err, out)
	}
}

func TestWrites(t *testing.T) {
	t.Parallel()
	conn, b := setupHub(t, sim.Config{}, Options{})
	ctx := context.Background()
	// CE's own Insightly tests create with lower-case keys.
	created, err := conn.Create(ctx, "contacts", json.RawMessage(`{"last_name":"MAC"}`))
	if err != nil {
		t.Fatal(err)
	}
	rec := element.NewRecord(created.Record)
	id, _ := rec.ID("CONTACT_ID")
	sid := itoa(id)
	if v, _ := rec.Lookup("LAST_NAME"); v != "MAC" {
		t.Errorf("created %s", created.Record)
	}
	b.sim.SetClockOffset(5 * time.Second)
	for _, patch := range []bool{false, true} {
		up, err := conn.Update(ctx, "contacts", sid, json.RawMessage(`{"TITLE":"Chief"}`), patch)
		if err != nil {
			t.Fatal(err)
		}
		r := element.NewRecord(up.Record)
		if v, _ := r.Lookup("LAST_NAME"); v != "MAC" {
			t.Errorf("update lost LAST_NAME: %s", up.Record)
		}
		if v, _ := r.Lookup("DATE_UPDATED_UTC"); v != "2026-03-01 12:00:05" {
			t.Errorf("DATE_UPDATED_UTC %v", v)
		}
	}
	opp, err := conn.Create(ctx, "opportunities", json.RawMessage(`{"OPPORTUNITY_NAME":"Deal","OPPORTUNITY_STATE":"won"}`))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := element.NewRecord(opp.Record).Lookup("OPPORTUNITY_STATE"); v != "WON" {
		t.Errorf("state %v", v)
	}
	if err := conn.Delete(ctx, "contacts", sid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Get(ctx, "contacts", sid)
	wantStatus(t, err, 404, "Contact not found.")

	for _, tc := range []struct {
		err    error
		status int
		msg    string
	}{
		{func() error { _, err := conn.Create(ctx, "users", json.RawMessage(`{}`)); return err }(), 405, "read-only"},
		{func() error { _, err := conn.Create(ctx, "contacts", json.RawMessage(`[1]`)); return err }(), 400, "body: must be a JSON object"},
		{func() error {
			_, err := conn.Create(ctx, "contacts", json.RawMessage(`{"TITLE":"no name"}`))
			return err
		}(), 400, "LAST_NAME is required"},
		{func() error { _, err := conn.Update(ctx, "contacts", "12x", json.RawMessage(`{}`), true); return err }(), 400, "not an Insightly record ID"},
		{func() error {
			_, err := conn.Update(ctx, "contacts", "1", json.RawMessage(`{"CONTACT_ID":2}`), true)
			return err
		}(), 400, "URL names 1"},
		{func() error {
			_, err := conn.Update(ctx, "contacts", "1", json.RawMessage(`{"TITLE":"x"}`), false)
			return err
		}(), 404, "not found"},
		{conn.Delete(ctx, "me", "1"), 405, "read-only"},
	} {
		wantStatus(t, tc.err, tc.status, tc.msg)
	}
}

func TestScanForThePoller(t *testing.T) {
	t.Parallel()
	conn, b := setupHub(t, sim.Config{Records: 600, Seed: 2}, Options{})
	where, err := ceql.Parse("updated_after_utc='2025-01-01 00:00:00' AND ADDRESS_MAIL_COUNTRY != 'Norway'")
	if err != nil {
		t.Fatal(err)
	}
	want := truthIDs(t, b.sim, "Contacts", "CONTACT_ID", func(r map[string]any) bool {
		return r["DATE_UPDATED_UTC"].(string) > "2025-01-01 00:00:00" && r["ADDRESS_MAIL_COUNTRY"] != "Norway"
	})
	var got []int64
	res, err := conn.Scan(context.Background(), "contacts", where, element.ScanOptions{PageSize: 50}, func(r *element.Record) error {
		id, _ := r.ID("CONTACT_ID")
		got = append(got, id)
		return nil
	})
	if err != nil || !slices.Equal(got, want) || res.Date.IsZero() || res.Records != len(got) {
		t.Errorf("scan: %v, %d records (want %d), %+v", err, len(got), len(want), res)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
