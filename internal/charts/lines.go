package charts

import (
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Lines is a line chart: a line per series over the buckets, broken where
// a value is NaN (no data), with a point at each value. The first series
// is solid, the others dashed.
type Lines struct {
	Title   string  // e.g. "Delivery latency per hour"
	Unit    string  // the value axis's label: "latency"
	Buckets Buckets // the time buckets
	Series  []Series
	Format  func(float64) string // ticks and values; Count if nil
	Empty   string               // the notice when no value is known; NoData if ""
}

// SVG draws the chart.
func (l Lines) SVG() template.HTML {
	bk := l.Buckets.norm()
	format := l.Format
	if format == nil {
		format = Count
	}
	series := colors(l.Series)
	known := func(s Series, i int) bool {
		return i < len(s.Values) && !math.IsNaN(s.Values[i]) && !math.IsInf(s.Values[i], 0)
	}
	hi, points := 0.0, 0
	gaps := 0
	for i := range bk.N {
		any := false
		for _, s := range series {
			if known(s, i) {
				hi = math.Max(hi, s.Values[i])
				points++
				any = true
			}
		}
		if !any {
			gaps++
		}
	}
	var c canvas
	c.open(l.Title, l.desc(series, known, format, points, gaps), series,
		func(i int) string { return shorten(series[i].Name, 24) }, true)
	ticks := niceTicks(hi, false)
	if points == 0 {
		ticks = []float64{0}
	}
	top := ticks[len(ticks)-1]
	c.axes(bk, ticks, max(top, 1e-9), format, l.Unit)
	if points == 0 {
		c.empty(cmpOr(l.Empty, NoData))
		return c.close()
	}
	bw := c.plotW() / float64(bk.N)
	x := func(i int) float64 { return float64(marginL) + (float64(i)+0.5)*bw }
	for si, s := range series {
		var d strings.Builder
		pen := false
		for i := range bk.N {
			if !known(s, i) {
				pen = false
				continue
			}
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteString(" ")
				}
				d.WriteString("M")
			}
			d.WriteString(num(x(i)) + " " + num(c.y(math.Max(s.Values[i], 0), top)))
			pen = true
		}
		c.printf(`<g class="series"><path d="%s" fill="none" stroke="%s" stroke-width="2"%s stroke-linejoin="round"/>`,
			d.String(), s.Color, dash(si))
		for i := range bk.N {
			if known(s, i) {
				c.printf(`<circle class="point" cx="%s" cy="%s" r="2.5" fill="%s"><title>%s</title></circle>`,
					num(x(i)), num(c.y(math.Max(s.Values[i], 0), top)), s.Color,
					esc(bk.label(i)+" UTC: "+s.Name+" "+format(s.Values[i])))
			}
		}
		c.printf(`</g>`)
	}
	return c.close()
}

// desc is the chart in a sentence: "Over the 24 hours to 2 Mar 10:00 UTC:
// p50 from 80 ms to 120 ms (highest at 14:00); p99 from 300 ms to 2.1 s
// (highest at 14:00); no data in 3 of 24 hours."
func (l Lines) desc(series []Series, known func(Series, int) bool, format func(float64) string, points, gaps int) string {
	bk := l.Buckets.norm()
	if points == 0 {
		return "No data in " + bk.period() + "."
	}
	var parts []string
	for _, s := range series {
		lo, hi, at := math.Inf(1), math.Inf(-1), -1
		for i := range bk.N {
			if !known(s, i) {
				continue
			}
			v := s.Values[i]
			lo = math.Min(lo, v)
			if v > hi {
				hi, at = v, i
			}
		}
		if at < 0 {
			parts = append(parts, s.Name+": no data")
			continue
		}
		parts = append(parts, s.Name+" from "+format(lo)+" to "+format(hi)+" (highest at "+bk.label(at)+")")
	}
	d := "Over " + bk.period() + ": " + strings.Join(parts, "; ")
	if gaps > 0 {
		d += "; no data in " + strconv.Itoa(gaps) + " of " + bk.count(bk.N)
	}
	return d + "."
}
