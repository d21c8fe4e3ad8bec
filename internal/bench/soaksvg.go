package bench

import (
	"math"
	"os"

	"github.com/pollhook/pollhook/internal/charts"
)

// WriteSVG draws the samples as two line charts, with the console's
// chart code: serve's resources (prefix-serve.svg) and the delivery
// latency (prefix-latency.svg). A gap is a sample with serve down.
func (r *SoakResult) WriteSVG(prefix string) error {
	if len(r.Samples) == 0 {
		return nil
	}
	// Each sample in the bucket of its tick (a slow sample makes the
	// ticker skip one: that bucket stays a gap).
	step := r.SampleEvery
	slot := func(s Sample) int { return max(0, int((s.At+step/2)/step)-1) }
	bk := charts.Buckets{Start: r.Started.Add(step), Step: step, N: slot(r.Samples[len(r.Samples)-1]) + 1}
	series := func(name string, v func(Sample) float64) charts.Series {
		s := charts.Series{Name: name, Values: make([]float64, bk.N)}
		for i := range s.Values {
			s.Values[i] = math.NaN()
		}
		for _, x := range r.Samples {
			if y := v(x); y > 0 {
				s.Values[slot(x)] = y
			}
		}
		return s
	}
	serve := charts.Lines{Title: "pollhook serve during a " + r.Duration.String() + " soak on " + r.Dialect, Unit: "MiB, count", Buckets: bk,
		Series: []charts.Series{series("RSS MiB", func(s Sample) float64 { return mib(s.RSS) }),
			series("database MiB", func(s Sample) float64 { return mib(s.DBBytes) }),
			series("goroutines", func(s Sample) float64 { return float64(s.Goroutines) }),
			series("open files", func(s Sample) float64 { return float64(s.FDs) })}}
	latency := charts.Lines{Title: "change to receipt, per sample", Unit: "seconds", Buckets: bk,
		Series: []charts.Series{series("p50", func(s Sample) float64 { return s.P50.Seconds() }),
			series("max", func(s Sample) float64 { return s.Max.Seconds() })}}
	if err := os.WriteFile(prefix+"-serve.svg", []byte(serve.SVG()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(prefix+"-latency.svg", []byte(latency.SVG()), 0o644)
}
