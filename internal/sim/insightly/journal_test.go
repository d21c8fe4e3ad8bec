package insightly

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestJournalRecordsEveryWrite(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	c := b.write(t, "POST", "/v3.1/Leads", map[string]any{"LAST_NAME": "Journal"}, 201)
	id := idOf(t, c, "LEAD_ID")
	b.clock.Advance(2 * time.Second)
	b.write(t, "PUT", "/v3.1/Leads", map[string]any{"LEAD_ID": id, "TITLE": "Editor"}, 200)
	b.clock.Advance(2 * time.Second)
	b.do(t, "DELETE", "/v3.1/Leads/"+itoa(id), nil)
	b.do(t, "POST", "/v3.1/Leads", map[string]any{"TITLE": "refused"}) // a 400 is not a change

	j := b.sim.Journal(0)
	if len(j) != 3 {
		t.Fatalf("journal has %d entries, want 3: %+v", len(j), j)
	}
	wantOps := []Op{OpCreate, OpUpdate, OpDelete}
	wantUpdated := []string{"2026-03-01 12:00:00", "2026-03-01 12:00:02", "2026-03-01 12:00:02"}
	for i, c := range j {
		if c.Seq != int64(i+1) || c.Op != wantOps[i] || c.ID != id || c.Object != "Leads" || c.Account != "acme" {
			t.Errorf("entry %d: %+v", i, c)
		}
		if c.Updated() != wantUpdated[i] {
			t.Errorf("entry %d updated %q, want %q", i, c.Updated(), wantUpdated[i])
		}
		if !c.At.Equal(t0.Add(time.Duration(2*i) * time.Second)) {
			t.Errorf("entry %d at %v", i, c.At)
		}
	}
	if j[1].Record["TITLE"] != "Editor" || j[2].Record["TITLE"] != "Editor" {
		t.Errorf("content after update / at delete: %v / %v", j[1].Record["TITLE"], j[2].Record["TITLE"])
	}
	if got := b.sim.Journal(2); len(got) != 1 || got[0].Seq != 3 {
		t.Errorf("Journal(2) = %+v", got)
	}
	// Callers get copies.
	j[1].Record["TITLE"] = "tampered"
	if b.sim.Journal(1)[0].Record["TITLE"] != "Editor" {
		t.Error("journal shares records with callers")
	}
}

func TestJournalLimit(t *testing.T) {
	t.Parallel()
	sim, _ := setup(t, Config{Records: 5, JournalLimit: 10})
	sim.Step(25)
	j := sim.Journal(0)
	if len(j) > 10 || len(j) == 0 {
		t.Fatalf("journal holds %d entries with a limit of 10", len(j))
	}
	last := j[len(j)-1].Seq
	if got := sim.Journal(last - 2); len(got) != 2 || got[0].Seq != last-1 {
		t.Errorf("Journal(last-2) after trimming: %+v", got)
	}
}

// Churn must be reproducible, realistic and consistent with reads: every
// journalled final state is what the API returns.
func TestChurn(t *testing.T) {
	t.Parallel()
	run := func() ([]Change, *testBundle) {
		_, b := setup(t, Config{Seed: 42, Records: 30})
		var all []Change
		for range 40 {
			all = append(all, b.sim.Step(10)...)
			b.clock.Advance(700 * time.Millisecond)
		}
		return all, b
	}
	a, b := run()
	a2, _ := run()
	if !reflect.DeepEqual(a, a2) {
		t.Fatal("the same seed gave different churn")
	}
	ops := map[Op]int{}
	objects := map[string]bool{}
	sameSecond := 0
	for i, c := range a {
		ops[c.Op]++
		objects[c.Object] = true
		if i > 0 && c.Op == OpUpdate && a[i-1].Op == OpUpdate && a[i-1].ID == c.ID && a[i-1].Object == c.Object &&
			a[i-1].Updated() == c.Updated() && !reflect.DeepEqual(a[i-1].Record, c.Record) {
			sameSecond++
		}
	}
	if len(a) < 400 || ops[OpCreate] == 0 || ops[OpUpdate] == 0 || ops[OpDelete] == 0 {
		t.Errorf("churn ops: %v over %d changes", ops, len(a))
	}
	if sameSecond == 0 {
		t.Error("churn never changed a record twice within one second")
	}
	if len(objects) < 5 {
		t.Errorf("churn touched only %v", objects)
	}
	// The final state of every touched record is what GET answers.
	final := map[string]Change{}
	for _, c := range a {
		final[c.Object+"/"+itoa(c.ID)] = c
	}
	for path, c := range final {
		resp, body := b.do(t, "GET", "/v3.1/"+path, nil)
		if c.Op == OpDelete {
			wantStatus(t, resp, body, 404)
			continue
		}
		wantStatus(t, resp, body, 200)
		var got map[string]any
		json.Unmarshal(body, &got)
		want, _ := json.Marshal(c.Record)
		var wantRec map[string]any
		json.Unmarshal(want, &wantRec)
		if !reflect.DeepEqual(got, wantRec) {
			t.Errorf("%s: GET %v\njournal %v", path, got, wantRec)
		}
	}
}

func TestDateHeaderFollowsUpstreamClock(t *testing.T) {
	t.Parallel()
	sim, b := setup(t, Config{ClockOffset: -90 * time.Second})
	resp, _ := b.do(t, "GET", "/v3.1/Instance", nil)
	if got := resp.Header.Get("Date"); got != "Sun, 01 Mar 2026 11:58:30 GMT" {
		t.Errorf("Date = %q", got)
	}
	c := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Skewed"}, 201)
	if c["DATE_CREATED_UTC"] != "2026-03-01 11:58:30" {
		t.Errorf("record stamped %v", c["DATE_CREATED_UTC"])
	}
	sim.SetClockOffset(time.Hour)
	resp, _ = b.do(t, "GET", "/v3.1/Nothing", nil) // errors carry it too
	if got := resp.Header.Get("Date"); got != "Sun, 01 Mar 2026 13:00:00 GMT" {
		t.Errorf("Date after SetClockOffset = %q", got)
	}
}

func TestGzip(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 50})
	req, _ := http.NewRequest("GET", b.srv.URL+"/v3.1/Contacts?top=50", nil)
	req.Header.Set("Authorization", basic(b.key))
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req) // the raw transport does not decompress for us
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if recs := decodeList(t, body); len(recs) != 50 {
		t.Errorf("gzip body holds %d records", len(recs))
	}
}

// Recorded Insightly records (spec §8) go in and come out byte for byte:
// same keys, same order, same value forms.
func TestRecordedFixturesRoundTrip(t *testing.T) {
	t.Parallel()
	sim, b := setup(t, Config{})
	for _, tc := range []struct{ file, object, pk string }{
		{"contact.json", "Contacts", "CONTACT_ID"},
		{"lead.json", "Leads", "LEAD_ID"},
		{"fruit.json", "Fruit__c", "RECORD_ID"},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "fixtures", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		if err := sim.Load(b.key, tc.object, rec); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Compact(&want, raw); err != nil {
			t.Fatal(err)
		}
		_, got := b.do(t, "GET", "/v3.1/"+tc.object+"/"+string(rec[tc.pk].(json.Number)), nil)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s:\n got %s\nwant %s", tc.file, got, want.Bytes())
		}
	}
}

// Churn makes no-op PUTs (only DATE_UPDATED_UTC changes, or nothing within
// the second) and echo writes, journalled as updates like any other.
func TestChurnNoOpAndEchoWrites(t *testing.T) {
	sim, b := setup(t, Config{Seed: 7, Records: 20})
	var all []Change
	for range 200 {
		b.clock.Advance(700 * time.Millisecond)
		all = append(all, sim.Step(5)...)
	}
	last := map[string]map[string]any{}
	noop, sameSecond := 0, 0
	for _, c := range all {
		key := c.Object + "/" + fmt.Sprint(c.ID)
		if prev, ok := last[key]; ok && c.Op == OpUpdate && c.Updated() != "" {
			before, after := maps.Clone(prev), maps.Clone(c.Record)
			delete(before, "DATE_UPDATED_UTC")
			delete(after, "DATE_UPDATED_UTC")
			if reflect.DeepEqual(before, after) {
				if prev["DATE_UPDATED_UTC"] == c.Record["DATE_UPDATED_UTC"] {
					sameSecond++
				} else {
					noop++
				}
			}
		}
		last[key] = c.Record
	}
	if noop == 0 || sameSecond == 0 {
		t.Errorf("%d no-op PUTs bumping DATE_UPDATED_UTC, %d within the second of the last write in %d changes; want some of each", noop, sameSecond, len(all))
	}
}
