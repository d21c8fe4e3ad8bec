package charts

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// svgDoc is what a test reads of a chart.
type svgDoc struct {
	root    xml.StartElement
	title   string
	desc    string
	classes map[string]int      // elements per class attribute
	texts   map[string][]string // text of the <text> elements per class ("" for none)
	paths   []string            // the d of each path
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// parse reads a chart as XML, failing on any error.
func parse(t *testing.T, h template.HTML) svgDoc {
	t.Helper()
	d := svgDoc{classes: map[string]int{}, texts: map[string][]string{}}
	dec := xml.NewDecoder(strings.NewReader(string(h)))
	var stack []xml.StartElement
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, h)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				d.root = tok.Copy()
			}
			stack = append(stack, tok.Copy())
			text.Reset()
			if c := attr(tok, "class"); c != "" {
				d.classes[tok.Name.Local+"."+c]++
			}
			if tok.Name.Local == "path" {
				d.paths = append(d.paths, attr(tok, "d"))
			}
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch {
			case top.Name.Local == "title" && len(stack) == 1:
				d.title = text.String()
			case top.Name.Local == "desc" && len(stack) == 1:
				d.desc = text.String()
			case top.Name.Local == "text":
				d.texts[attr(top, "class")] = append(d.texts[attr(top, "class")], text.String())
			}
			text.Reset()
		}
	}
	if d.root.Name.Local != "svg" || attr(d.root, "role") != "img" || attr(d.root, "width") != "100%" ||
		attr(d.root, "viewBox") == "" {
		t.Errorf("root element %+v", d.root)
	}
	return d
}

// golden compares a chart with testdata/name.svg, or writes it with -update.
func golden(t *testing.T, name string, h template.HTML) {
	t.Helper()
	path := filepath.Join("testdata", name+".svg")
	if *update {
		if err := os.WriteFile(path, []byte(string(h)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), []byte(h)) {
		t.Errorf("%s differs from %s (go test -update to rewrite)", name, path)
	}
}

var until = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
var since = until.Add(-24 * time.Hour)

func hour(n int) time.Time { return since.Add(time.Duration(n) * time.Hour) }

// A day of events: 412 in all, the most (37) at 14:00 on 1 Mar.
func eventRows() []store.HourCount {
	var rows []store.HourCount
	total := 0
	for h := range 24 {
		for ti, typ := range []string{"CREATED", "UPDATED", "DELETED"} {
			n := (h*7 + ti*5) % 11
			if h == 4 {
				n = []int{20, 12, 5}[ti]
			}
			if h%5 == 2 || n == 0 {
				continue
			}
			rows = append(rows, store.HourCount{Hour: hour(h), Type: typ, Count: n})
			total += n
		}
	}
	return rows
}

func TestEventsChart(t *testing.T) {
	rows := eventRows()
	total, perHour := 0, map[time.Time]int{}
	for _, r := range rows {
		total += r.Count
		perHour[r.Hour] += r.Count
	}
	h := EventsChart(rows, since, until, time.Hour)
	golden(t, "events", h)
	d := parse(t, h)
	if d.title != "Events per hour" {
		t.Errorf("title %q", d.title)
	}
	want := fmt.Sprintf("%d events in the 24 hours to 2 Mar 10:00 UTC, most at 14:00 (37): CREATED ", total)
	if !strings.HasPrefix(d.desc, want) {
		t.Errorf("desc %q\nwant %q...", d.desc, want)
	}
	if got := d.classes["rect.bar"]; got != len(rows) {
		t.Errorf("%d bars, want %d", got, len(rows))
	}
	// The value ticks: the tallest bar is 37, ticks every 10 up to 40.
	var values, hours []string
	for _, s := range d.texts["tick"] {
		if strings.Contains(s, ":") || strings.Contains(s, " ") {
			hours = append(hours, s)
		} else {
			values = append(values, s)
		}
	}
	if fmt.Sprint(values) != "[0 10 20 30 40]" {
		t.Errorf("value ticks %v", values)
	}
	// An hour label every 3 hours, on the hour, the date at midnight.
	if fmt.Sprint(hours) != "[12:00 15:00 18:00 21:00 2 Mar 03:00 06:00 09:00]" {
		t.Errorf("hour ticks %v", hours)
	}
	if legend := d.texts[""]; !slices.Contains(legend, "CREATED "+fmt.Sprint(sum(rows, "CREATED"))) {
		t.Errorf("legend %v", legend)
	}
}

func sum(rows []store.HourCount, typ string) int {
	n := 0
	for _, r := range rows {
		if r.Type == typ {
			n += r.Count
		}
	}
	return n
}

// Seven days by day: the hours sum into days.
func TestEventsChartByDay(t *testing.T) {
	end := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	start := end.Add(-7 * 24 * time.Hour)
	var rows []store.HourCount
	for h := range 7 * 24 {
		if h%3 == 0 {
			rows = append(rows, store.HourCount{Hour: start.Add(time.Duration(h) * time.Hour), Type: "UPDATED", Count: 1 + h/24})
		}
	}
	h := EventsChart(rows, start, end, 24*time.Hour)
	golden(t, "events-week", h)
	d := parse(t, h)
	if d.classes["rect.bar"] != 7 {
		t.Errorf("%d bars, want 7", d.classes["rect.bar"])
	}
	if want := "224 events in the 7 days to 8 Mar 00:00 UTC, most on Sat 7 Mar (56): UPDATED 224."; d.desc != want {
		t.Errorf("desc %q\nwant %q", d.desc, want)
	}
	if d.title != "Events per day" {
		t.Errorf("title %q", d.title)
	}
}

func TestFailuresChart(t *testing.T) {
	rows := []store.HourCount{
		{Hour: hour(3), Type: store.Failure5xx, Count: 3},
		{Hour: hour(3), Type: store.FailureNoResponse, Count: 1},
		{Hour: hour(20), Type: store.Failure4xx, Count: 2},
		{Hour: hour(30), Type: store.Failure4xx, Count: 2}, // out of the range: ignored
	}
	h := FailuresChart(rows, since, until)
	golden(t, "failures", h)
	d := parse(t, h)
	if d.classes["rect.bar"] != 3 {
		t.Errorf("%d bars, want 3", d.classes["rect.bar"])
	}
	if want := "6 failed attempts in the 24 hours to 2 Mar 10:00 UTC, most at 13:00 (4): 5xx 3, 4xx 2, no response 1."; d.desc != want {
		t.Errorf("desc %q\nwant %q", d.desc, want)
	}
	var values []string
	for _, s := range d.texts["tick"] {
		if !strings.ContainsAny(s, ": ") {
			values = append(values, s)
		}
	}
	if fmt.Sprint(values) != "[0 1 2 3 4]" {
		t.Errorf("value ticks %v", values)
	}
}

func TestLatencyChart(t *testing.T) {
	var rows []store.HourLatency
	for h := range 24 {
		if h >= 6 && h < 9 { // three hours without successful attempts
			continue
		}
		rows = append(rows, store.HourLatency{Hour: hour(h), Count: 100,
			P50: time.Duration(80+h*2) * time.Millisecond, P99: time.Duration(300+h*h*3) * time.Millisecond})
	}
	h := LatencyChart(rows, since, until)
	golden(t, "latency", h)
	d := parse(t, h)
	if d.classes["circle.point"] != 2*21 {
		t.Errorf("%d points, want %d", d.classes["circle.point"], 2*21)
	}
	if len(d.paths) != 2 {
		t.Fatalf("%d paths", len(d.paths))
	}
	for _, p := range d.paths {
		if n := strings.Count(p, "M"); n != 2 {
			t.Errorf("path %q has %d segments, want 2 (a gap)", p, n)
		}
	}
	want := "Over the 24 hours to 2 Mar 10:00 UTC: p50 from 80 ms to 126 ms (highest at 09:00); " +
		"p99 from 300 ms to 1.9 s (highest at 09:00); no data in 3 of 24 hours."
	if d.desc != want {
		t.Errorf("desc %q\nwant %q", d.desc, want)
	}
	var values []string
	for _, s := range d.texts["tick"] {
		if strings.HasSuffix(s, "s") {
			values = append(values, s)
		}
	}
	if fmt.Sprint(values) != "[0 ms 500 ms 1 s 1.5 s 2 s]" {
		t.Errorf("value ticks %v", values)
	}
}

// Names come from the data: they are escaped everywhere.
func TestEscaping(t *testing.T) {
	name := `<b>&"x'</b>`
	rows := []store.HourCount{{Hour: hour(1), Type: name, Count: 2}}
	h := EventsChart(rows, since, until, time.Hour)
	if strings.Contains(string(h), "<b>") {
		t.Errorf("unescaped name in %s", h)
	}
	d := parse(t, h)
	if !strings.Contains(d.desc, name+" 2") {
		t.Errorf("desc %q", d.desc)
	}
	if !slices.Contains(d.texts[""], name+" 2") {
		t.Errorf("legend %q", d.texts[""])
	}
	l := Lines{Title: `a "title" & <more>`, Buckets: BucketsFor(since, until, time.Hour),
		Series: []Series{{Name: name, Values: []float64{1, 2, math.NaN()}}}}.SVG()
	if d := parse(t, l); d.title != `a "title" & <more>` || !strings.Contains(d.desc, name+" from 1 to 2") {
		t.Errorf("title %q desc %q", d.title, d.desc)
	}
}

// No data is a chart that says so, not an error.
func TestEmpty(t *testing.T) {
	for name, h := range map[string]template.HTML{
		"events":   EventsChart(nil, since, until, time.Hour),
		"failures": FailuresChart(nil, since, until),
		"latency":  LatencyChart(nil, since, until),
		"zeros":    Bars{Title: "Zeros", Buckets: BucketsFor(since, until, time.Hour), Series: []Series{{Name: "a", Values: []float64{0, 0}}}}.SVG(),
		"no range": Bars{Title: "Nothing"}.SVG(),
		"no lines": Lines{Title: "Nothing"}.SVG(),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "events" {
				golden(t, "empty", h)
			}
			d := parse(t, h)
			if d.classes["rect.bar"]+d.classes["circle.point"] != 0 {
				t.Errorf("bars or points in an empty chart")
			}
			if len(d.texts["empty"]) != 1 || !strings.HasPrefix(d.texts["empty"][0], "No ") {
				t.Errorf("notice %q", d.texts["empty"])
			}
			if !strings.HasPrefix(d.desc, "No ") {
				t.Errorf("desc %q", d.desc)
			}
		})
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		hi      float64
		integer bool
		want    string
	}{
		{0, true, "[0 1]"},
		{1, true, "[0 1]"},
		{3, true, "[0 1 2 3]"},
		{7, true, "[0 2 4 6 8]"},
		{37, true, "[0 10 20 30 40]"},
		{100, true, "[0 25 50 75 100]"},
		{412, true, "[0 200 400 600]"},
		{1950, false, "[0 500 1000 1500 2000]"},
		{0.3, false, "[0 0.1 0.2 0.30000000000000004]"},
	} {
		if got := fmt.Sprint(niceTicks(tc.hi, tc.integer)); got != tc.want {
			t.Errorf("niceTicks(%v, %v) = %s, want %s", tc.hi, tc.integer, got, tc.want)
		}
	}
}

func TestBuckets(t *testing.T) {
	b := BucketsFor(since.Add(17*time.Minute), until.Add(time.Minute), time.Hour)
	if !b.Start.Equal(since) || b.N != 25 {
		t.Errorf("%+v", b)
	}
	if i, ok := b.Index(since.Add(90 * time.Minute)); !ok || i != 1 {
		t.Errorf("index %d %v", i, ok)
	}
	if _, ok := b.Index(since.Add(-time.Second)); ok {
		t.Error("before the start")
	}
	if _, ok := b.Index(until.Add(time.Hour)); ok {
		t.Error("after the end")
	}
	if d := BucketsFor(since.Add(5*time.Hour), until, 24*time.Hour); !d.Start.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || d.N != 2 {
		t.Errorf("days %+v", d)
	}
}

func TestFormats(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 12: "12", 9999: "9999", 12000: "12k", 1500000: "1.5M"} {
		if got := Count(v); got != want {
			t.Errorf("Count(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0 ms", 7: "7 ms", 126.4: "126.4 ms", 1000: "1 s", 1950: "2 s", 21238: "21.2 s"} {
		if got := Millis(v); got != want {
			t.Errorf("Millis(%v) = %q, want %q", v, got, want)
		}
	}
}
