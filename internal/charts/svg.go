// Package charts draws the console's charts as inline SVG on the server:
// a stacked bar chart and a line chart over time buckets (hours or days,
// UTC), with no script, no library and nothing fetched. A chart scales to
// its container's width (a viewBox and width 100%), is an image to
// assistive technology (role="img", a <title> and a <desc> that says what
// a reader would look for), labels its axes in UTC with rounded value
// ticks, and has a legend. Its colors are the Okabe–Ito palette, told
// apart by color-blind readers; the line chart's second series is also
// dashed. Every text from the data is escaped.
//
// Bars and Lines draw any series; EventsChart, FailuresChart and
// LatencyChart draw the store's rows (package store's EventsPerHour,
// FailuresPerHour and DeliveryLatency), filling the buckets without rows.
package charts

import (
	"fmt"
	"hash/fnv"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Series is one named series: a value per bucket, in order. In a line
// chart NaN is a gap (no data); in a bar chart it counts as 0.
type Series struct {
	Name   string
	Values []float64
	Color  string // a CSS color; "" takes the palette's next
}

// Palette is the Okabe–Ito palette without its yellow and black: colors
// that readers with any common color-vision deficiency tell apart.
var Palette = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"}

// Buckets are n time buckets of Step from Start (UTC).
type Buckets struct {
	Start time.Time
	Step  time.Duration
	N     int
}

// BucketsFor are the buckets of step that cover [since, until): from
// since truncated to step (an hour, a day: in UTC) to until.
func BucketsFor(since, until time.Time, step time.Duration) Buckets {
	if step <= 0 {
		step = time.Hour
	}
	start := since.UTC().Truncate(step)
	n := 0
	if until.After(start) {
		n = int((until.Sub(start) + step - 1) / step)
	}
	return Buckets{Start: start, Step: step, N: n}
}

// norm is b with a step (an hour if none) and no negative count.
func (b Buckets) norm() Buckets {
	if b.Step <= 0 {
		b.Step = time.Hour
	}
	b.N = max(b.N, 0)
	b.Start = b.Start.UTC()
	return b
}

// Index is the bucket holding t, and whether one does.
func (b Buckets) Index(t time.Time) (int, bool) {
	b = b.norm()
	if t.Before(b.Start) {
		return 0, false
	}
	i := int(t.Sub(b.Start) / b.Step)
	return i, i < b.N
}

// At is the start of bucket i.
func (b Buckets) At(i int) time.Time { return b.Start.Add(time.Duration(i) * b.Step) }

// label is bucket i's name in text: "14:00" for hours ("Mon 2 Mar 00:00"
// at midnight), "Mon 2 Mar" for days.
func (b Buckets) label(i int) string {
	t := b.At(i)
	if b.Step >= 24*time.Hour {
		return t.Format("Mon 2 Jan")
	}
	if t.Hour() == 0 && t.Minute() == 0 {
		return t.Format("Mon 2 Jan 15:04")
	}
	return t.Format("15:04")
}

// tick is a bucket's axis label: short.
func (b Buckets) tick(i int) string {
	t := b.At(i)
	if b.Step >= 24*time.Hour {
		return t.Format("Mon 2")
	}
	if t.Hour() == 0 && t.Minute() == 0 {
		return t.Format("2 Jan")
	}
	return t.Format("15:04")
}

// period says the range in words: "the 24 hours to 2 Mar 10:00 UTC".
func (b Buckets) period() string {
	return "the " + b.count(b.N) + " to " + b.At(b.N).Format("2 Jan 15:04") + " UTC"
}

// count is n buckets in words: "24 hours", "1 day".
func (b Buckets) count(n int) string {
	unit := "bucket"
	switch b.Step {
	case time.Hour:
		unit = "hour"
	case 24 * time.Hour:
		unit = "day"
	}
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

// The drawing's size in user units; it scales to the container.
const (
	width    = 480
	height   = 240
	marginL  = 58
	marginR  = 12
	marginB  = 34
	fontSize = 13
)

// esc escapes text for the SVG (XML and HTML alike).
func esc(s string) string { return html.EscapeString(s) }

// shorten cuts a legend name to n runes.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// num formats a coordinate.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// canvas writes one chart.
type canvas struct {
	b      strings.Builder
	top    float64 // the plot's top, below the legend
	id     string
	series []Series
}

func (c *canvas) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

func (c *canvas) plotW() float64  { return width - marginL - marginR }
func (c *canvas) bottom() float64 { return height - marginB }

// open writes the svg element, its title and desc, and the legend, and
// sets the plot's top.
func (c *canvas) open(title, desc string, series []Series, legend func(i int) string, lines bool) {
	h := fnv.New32a()
	h.Write([]byte(title + "\x00" + desc))
	c.id = fmt.Sprintf("chart-%08x", h.Sum32())
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-t %s-d"`+
		` font-family="system-ui, sans-serif" font-size="%d">`,
		width, height, c.id, c.id, fontSize)
	c.printf(`<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, c.id, esc(title), c.id, esc(desc))
	// The legend: rows of swatch and name, wrapped to the width.
	x, y := float64(marginL), 14.0
	c.printf(`<g class="legend">`)
	for i := range series {
		text := legend(i)
		w := 22 + float64(len([]rune(text)))*fontSize*0.6 + 12
		if x > marginL && x+w > width-marginR {
			x, y = marginL, y+18
		}
		color := series[i].Color
		if lines {
			c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`,
				num(x), num(y-4), num(x+16), num(y-4), color, dash(i))
		} else {
			c.printf(`<rect x="%s" y="%s" width="12" height="12" fill="%s"/>`, num(x), num(y-10), color)
		}
		c.printf(`<text x="%s" y="%s" fill="currentColor">%s</text>`, num(x+20), num(y), esc(text))
		x += w
	}
	c.printf(`</g>`)
	c.top = y + 26
}

// dash is the stroke of a line chart's series i: solid, then dashed.
func dash(i int) string {
	switch {
	case i == 0:
		return ""
	case i%2 == 1:
		return ` stroke-dasharray="6 3"`
	}
	return ` stroke-dasharray="2 2"`
}

// axes draws the value ticks and grid, and the buckets' labels.
func (c *canvas) axes(bk Buckets, ticks []float64, top float64, format func(float64) string, unit string) {
	c.printf(`<g class="y-axis" fill="currentColor" text-anchor="end">`)
	for _, v := range ticks {
		y := c.y(v, top)
		c.printf(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="currentColor" stroke-opacity="0.15"/>`,
			marginL, num(y), width-marginR, num(y))
		c.printf(`<text class="tick" x="%d" y="%s">%s</text>`, marginL-5, num(y+4), esc(format(v)))
	}
	c.printf(`<text x="2" y="%s" font-size="%d" text-anchor="start">%s</text>`, num(c.top-10), fontSize-1, esc(unit))
	c.printf(`</g>`)
	// One label every k buckets, k a divisor of the day (or the week) so
	// that labels fall on round times, each ~48 units apart at least.
	bw := c.plotW() / float64(max(bk.N, 1))
	k := 1
	steps := []int{1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168}
	if bk.Step >= 24*time.Hour {
		steps = []int{1, 2, 7, 14, 28}
	}
	for _, s := range steps {
		k = s
		if float64(s)*bw >= 48 {
			break
		}
	}
	c.printf(`<g class="x-axis" fill="currentColor" text-anchor="middle">`)
	c.printf(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="currentColor" stroke-opacity="0.6"/>`,
		marginL, num(c.bottom()), width-marginR, num(c.bottom()))
	for i := 0; i < bk.N; i++ {
		// Round to the step's multiples of the absolute time, not the range.
		if int(bk.At(i).Unix()/int64(bk.Step/time.Second))%k != 0 {
			continue
		}
		x := float64(marginL) + (float64(i)+0.5)*bw
		c.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="currentColor" stroke-opacity="0.6"/>`,
			num(x), num(c.bottom()), num(x), num(c.bottom()+4))
		c.printf(`<text class="tick" x="%s" y="%s">%s</text>`, num(x), num(c.bottom()+16), esc(bk.tick(i)))
	}
	axis := "hour (UTC)"
	if bk.Step >= 24*time.Hour {
		axis = "day (UTC)"
	}
	c.printf(`<text x="%d" y="%d" text-anchor="end" font-size="%d">%s</text>`, width-marginR, height-3, fontSize-1, axis)
	c.printf(`</g>`)
}

// y is value v's height in the plot whose top value is top.
func (c *canvas) y(v, top float64) float64 {
	return c.bottom() - v/top*(c.bottom()-c.top)
}

// empty writes the no-data notice in the plot.
func (c *canvas) empty(text string) {
	c.printf(`<rect class="empty" x="%d" y="%s" width="%s" height="%s" fill="currentColor" fill-opacity="0.04"/>`,
		marginL, num(c.top), num(c.plotW()), num(c.bottom()-c.top))
	c.printf(`<text class="empty" x="%s" y="%s" text-anchor="middle" fill="currentColor" font-size="%d">%s</text>`,
		num(marginL+c.plotW()/2), num((c.top+c.bottom())/2+5), fontSize+2, esc(text))
}

func (c *canvas) close() template.HTML {
	c.printf(`</svg>`)
	return template.HTML(c.b.String())
}

// niceTicks are round value ticks from 0 to at least hi, about four
// steps of 1, 2 or 5 times a power of ten (whole numbers when integer).
func niceTicks(hi float64, integer bool) []float64 {
	if !(hi > 0) || math.IsInf(hi, 0) {
		hi = 1
	}
	raw := hi / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m == 2.5 && integer && mag < 10 {
			continue
		}
		step = m * mag
		if step >= raw {
			break
		}
	}
	if integer && step < 1 {
		step = 1
	}
	n := int(math.Ceil(hi/step - 1e-9))
	ticks := make([]float64, n+1)
	for i := range ticks {
		ticks[i] = float64(i) * step
	}
	return ticks
}

// Count formats a count: 1234, 12k, 1.5M for ticks.
func Count(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

// Millis formats a duration in milliseconds: 7 ms, 250 ms, 1.5 s.
func Millis(v float64) string {
	if math.Abs(v) >= 1000 {
		return trim(v/1000) + " s"
	}
	return trim(v) + " ms"
}

// trim writes v with at most one decimal, none if it is whole.
func trim(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// colors fills the series' missing colors from the palette, skipping
// those already taken.
func colors(series []Series) []Series {
	out := make([]Series, len(series))
	used := map[string]bool{}
	for _, s := range series {
		used[s.Color] = true
	}
	next := 0
	for i, s := range series {
		if s.Color == "" {
			for tries := 0; tries < len(Palette) && used[Palette[next%len(Palette)]]; tries++ {
				next++
			}
			s.Color = Palette[next%len(Palette)]
			used[s.Color] = true
			next++
		}
		out[i] = s
	}
	return out
}
