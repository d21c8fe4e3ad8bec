package charts

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// NoData is the notice of a chart without data.
const NoData = "No data in this period"

// Bars is a stacked bar chart: a bar per bucket, a segment per series.
type Bars struct {
	Title   string  // the chart's title, e.g. "Events per hour"
	Unit    string  // what is counted, plural: "events"; the value axis's label and the description's noun
	Buckets Buckets // the time buckets
	Series  []Series
	Empty   string // the notice when every value is 0; NoData if ""
}

// value is series s's value in bucket i: 0 when missing, NaN or negative.
func value(s Series, i int) float64 {
	if i >= len(s.Values) || !(s.Values[i] > 0) || math.IsInf(s.Values[i], 0) {
		return 0
	}
	return s.Values[i]
}

// SVG draws the chart.
func (b Bars) SVG() template.HTML {
	bk := b.Buckets.norm()
	series := colors(b.Series)
	totals := make([]float64, bk.N)
	sums := make([]float64, len(series))
	var total float64
	for si, s := range series {
		for i := range bk.N {
			v := value(s, i)
			totals[i] += v
			sums[si] += v
			total += v
		}
	}
	most := 0
	if bk.N == 0 {
		totals = []float64{0}
	}
	for i, v := range totals {
		if v > totals[most] {
			most = i
		}
	}
	desc := b.desc(total, most, totals, sums, series)
	var c canvas
	c.open(b.Title, desc, series, func(i int) string {
		return shorten(series[i].Name, 24) + " " + Count(sums[i])
	}, false)
	ticks := niceTicks(totals[most], true)
	if total == 0 {
		ticks = []float64{0}
	}
	top := ticks[len(ticks)-1]
	c.axes(bk, ticks, max(top, 1), Count, b.Unit)
	if total == 0 {
		c.empty(cmpOr(b.Empty, NoData))
		return c.close()
	}
	bw := c.plotW() / float64(bk.N)
	gap := math.Min(bw*0.2, 6)
	c.printf(`<g class="bars">`)
	for i := range bk.N {
		base := 0.0
		for _, s := range series {
			v := value(s, i)
			if v == 0 {
				continue
			}
			y0, y1 := c.y(base, top), c.y(base+v, top)
			c.printf(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`,
				num(float64(marginL)+float64(i)*bw+gap/2), num(y1), num(bw-gap), num(y0-y1), s.Color,
				esc(bk.label(i)+" UTC: "+Count(v)+" "+s.Name))
			base += v
		}
	}
	c.printf(`</g>`)
	return c.close()
}

// desc is the chart in a sentence: "412 events in the 24 hours to 2 Mar
// 10:00 UTC, most at 14:00 (37): CREATED 200, UPDATED 150, DELETED 62."
func (b Bars) desc(total float64, most int, totals, sums []float64, series []Series) string {
	b.Buckets = b.Buckets.norm()
	unit := cmpOr(b.Unit, "values")
	if total == 0 {
		return "No " + unit + " in " + b.Buckets.period() + "."
	}
	at := " at "
	if b.Buckets.Step >= 24*time.Hour {
		at = " on "
	}
	var parts []string
	for i, s := range series {
		if sums[i] > 0 {
			parts = append(parts, s.Name+" "+strconv.FormatFloat(sums[i], 'f', -1, 64))
		}
	}
	return strconv.FormatFloat(total, 'f', -1, 64) + " " + unit + " in " + b.Buckets.period() +
		", most" + at + b.Buckets.label(most) + " (" + strconv.FormatFloat(totals[most], 'f', -1, 64) + "): " +
		strings.Join(parts, ", ") + "."
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
