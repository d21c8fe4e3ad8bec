package charts

import (
	"html/template"
	"math"
	"slices"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// The store's rows as charts. since and until are the range the rows were
// read for ([since, until), as given to the store); the buckets start at
// since truncated to the step, and buckets without rows are 0 (bars) or
// gaps (lines). For the last 24 hours, since = until.Truncate(time.Hour)
// .Add(-23 * time.Hour) gives 24 whole buckets, the last one in progress.

// Colors of the known event types and kinds of failure, so that one type
// keeps its color from chart to chart.
var typeColors = map[string]string{
	"CREATED": Palette[2], // bluish green
	"UPDATED": Palette[0], // blue
	"DELETED": Palette[3], // vermillion

	store.Failure5xx:        Palette[3],
	store.Failure4xx:        Palette[1], // orange
	store.FailureNoResponse: Palette[4], // reddish purple
	store.FailureOther:      Palette[5], // sky blue
}

// countSeries sums rows into a series per type in the buckets, the types
// in order first and any others after them by name.
func countSeries(rows []store.HourCount, bk Buckets, order []string) []Series {
	index := map[string]int{}
	var series []Series
	add := func(name string) {
		index[name] = len(series)
		series = append(series, Series{Name: name, Values: make([]float64, bk.N), Color: typeColors[name]})
	}
	for _, name := range order {
		add(name)
	}
	var others []string
	for _, r := range rows {
		if _, ok := index[r.Type]; !ok && !slices.Contains(others, r.Type) {
			others = append(others, r.Type)
		}
	}
	slices.Sort(others)
	for _, name := range others {
		add(name)
	}
	for _, r := range rows {
		if i, ok := bk.Index(r.Hour); ok {
			series[index[r.Type]].Values[i] += float64(r.Count)
		}
	}
	return series
}

// EventsChart draws events per bucket by type (store.EventsPerHour's
// rows), stacked: step is time.Hour for a bar per hour or 24*time.Hour
// for one per day (the hours summed).
func EventsChart(rows []store.HourCount, since, until time.Time, step time.Duration) template.HTML {
	bk := BucketsFor(since, until, step)
	title := "Events per hour"
	if bk.Step >= 24*time.Hour {
		title = "Events per day"
	}
	return Bars{Title: title, Unit: "events", Buckets: bk,
		Series: countSeries(rows, bk, []string{"CREATED", "UPDATED", "DELETED"}),
		Empty:  "No events in this period"}.SVG()
}

// FailuresChart draws failed delivery attempts per hour by kind
// (store.FailuresPerHour's rows), stacked.
func FailuresChart(rows []store.HourCount, since, until time.Time) template.HTML {
	bk := BucketsFor(since, until, time.Hour)
	var present []string
	for _, k := range []string{store.Failure5xx, store.Failure4xx, store.FailureNoResponse, store.FailureOther} {
		if slices.ContainsFunc(rows, func(r store.HourCount) bool { return r.Type == k && r.Count > 0 }) {
			present = append(present, k)
		}
	}
	return Bars{Title: "Failed delivery attempts per hour", Unit: "failed attempts", Buckets: bk,
		Series: countSeries(rows, bk, present),
		Empty:  "No failed attempts in this period"}.SVG()
}

// LatencyChart draws the delivery latency's p50 and p99 per hour
// (store.DeliveryLatency's rows), a gap where an hour had no successful
// attempt.
func LatencyChart(rows []store.HourLatency, since, until time.Time) template.HTML {
	bk := BucketsFor(since, until, time.Hour)
	p50, p99 := make([]float64, bk.N), make([]float64, bk.N)
	for i := range bk.N {
		p50[i], p99[i] = math.NaN(), math.NaN()
	}
	for _, r := range rows {
		if i, ok := bk.Index(r.Hour); ok {
			p50[i] = float64(r.P50) / float64(time.Millisecond)
			p99[i] = float64(r.P99) / float64(time.Millisecond)
		}
	}
	return Lines{Title: "Delivery latency per hour (successful attempts)", Unit: "latency", Buckets: bk,
		Series: []Series{{Name: "p50", Values: p50, Color: Palette[0]}, {Name: "p99", Values: p99, Color: Palette[1]}},
		Format: Millis, Empty: "No successful deliveries in this period"}.SVG()
}
