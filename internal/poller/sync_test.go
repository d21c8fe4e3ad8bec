package poller

import (
	"math"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// A refresh interval stored before it was bounded (a week) is clamped to
// the bound, and minutes × unit saturates instead of overflowing: the
// value that once made an instance poll every 52 s now polls weekly.
func TestWantedIntervalClamped(t *testing.T) {
	t.Parallel()
	def := string(insightly.NewElement(insightly.Options{}).DefaultPollerConfig())
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		stored string
		unit   time.Duration
		want   time.Duration
	}{
		{"5", time.Minute, 5 * time.Minute},
		{"10080", time.Minute, week},
		{"10081", time.Minute, week},
		{"153722867280912931", time.Minute, week},
		{"99999999999999999999999", time.Minute, week},
		{"153722867280912931", time.Second, 10080 * time.Second},
		{"10080", 1000 * time.Hour, math.MaxInt64},
		{"0", time.Minute, 15 * time.Minute},
		{"often", time.Minute, 15 * time.Minute},
	} {
		in := &store.Instance{EventsEnabled: true}
		in.Config = []store.ConfigItem{{Key: instance.KeyPollerConfig, Value: def}, {Key: instance.KeyRefreshInterval, Value: tc.stored}}
		_, got, err := Wanted(in, tc.unit)
		if err != nil || got != tc.want {
			t.Errorf("Wanted(%q, %s) = %s, %v; want %s", tc.stored, tc.unit, got, err, tc.want)
		}
	}
}
