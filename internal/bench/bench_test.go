package bench

import (
	"context"
	"math"
	"testing"
	"time"
)

// The benchmarks are commands, not tests, but they must keep working:
// small runs, checked for figures that make sense.
func TestDeliveryBenchRuns(t *testing.T) {
	t.Parallel()
	res, err := Delivery(context.Background(), DeliveryConfig{Notifications: 200, Callbacks: 2, Rate: 50, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ceiling <= 0 || res.Throughput <= 0 || res.Latencies != 50 || res.P50 <= 0 || res.P99 < res.P50 || res.FloorP50 <= 0 {
		t.Errorf("result: %+v", res)
	}
}

func TestPollingBenchRuns(t *testing.T) {
	t.Parallel()
	res, err := Polling(context.Background(), PollingConfig{InstanceResources: 8, Interval: 2, IntervalUnit: 500 * time.Millisecond,
		Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 8 idle resources due every second for 3 s; each idle poll asks
	// Insightly exactly once (give or take a poll in flight at either end
	// of the window).
	if res.Polls < 8 || math.Abs(res.RequestsPerPoll-1) > 2/float64(res.Polls) || res.LateP99 < res.LateP50 || res.RSS <= 0 || res.DatabaseBytes <= 0 {
		t.Errorf("result: %+v", res)
	}
}

func TestChangeBenchRuns(t *testing.T) {
	t.Parallel()
	res, err := Change(context.Background(), ChangeConfig{Instances: 1, Churn: 10, Interval: 1, IntervalUnit: time.Second, Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Changes wait for the next poll: never negative, rarely more than
	// two intervals on a loaded machine.
	if res.Events == 0 || res.P50 <= 0 || res.P99 < res.P50 || res.Max > 10*res.Interval {
		t.Errorf("result: %+v", res)
	}
}
