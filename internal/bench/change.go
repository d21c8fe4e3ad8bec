package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// ChangeConfig says what the change-to-callback benchmark runs.
type ChangeConfig struct {
	Database     string        // "" for a temporary SQLite file
	Instances    int           // each polls the four default resources; default 4
	Churn        float64       // simulator changes per second; default 5
	Interval     int           // event.poller.refresh_interval; default 1
	IntervalUnit time.Duration // default 5 s (compressed: a minute in production)
	Duration     time.Duration // of churn; default six intervals
	Progress     func(format string, args ...any)
}

// ChangeResult is what it measured.
type ChangeResult struct {
	Dialect  string
	Interval time.Duration
	Events   int
	P50, P99 time.Duration // from the change (the simulator's clock) to the receipt
	Max      time.Duration
}

// resourceObject maps the polled resources to the simulator's objects.
var resourceObject = map[string]string{"contacts": "Contacts", "accounts": "Organisations", "leads": "Leads", "opportunities": "Opportunities"}

// Change measures how long a change in Insightly takes to reach the
// callback, with the simulator churning: mostly the wait for the next
// poll, so it is reported against the interval.
func Change(ctx context.Context, cfg ChangeConfig) (*ChangeResult, error) {
	if cfg.Instances <= 0 {
		cfg.Instances = 4
	}
	if cfg.Churn <= 0 {
		cfg.Churn = 5
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 1
	}
	if cfg.IntervalUnit <= 0 {
		cfg.IntervalUnit = 5 * time.Second
	}
	interval := time.Duration(cfg.Interval) * cfg.IntervalUnit
	if cfg.Duration <= 0 {
		cfg.Duration = 6 * interval
	}
	progress := quietIfNil(cfg.Progress)
	type receipt struct {
		object, id, date string
		at               time.Time
	}
	var (
		mu       sync.Mutex
		receipts []receipt
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hook := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Message struct {
				Events []struct{ ObjectType, ObjectID, Date, EventType string }
			}
		}
		json.Unmarshal(body, &env)
		mu.Lock()
		for _, e := range env.Message.Events {
			receipts = append(receipts, receipt{resourceObject[e.ObjectType], e.ObjectID, e.Date, at})
		}
		mu.Unlock()
	})}
	go hook.Serve(ln)
	defer hook.Close()

	r, err := newRig(ctx, cfg.Database, sim.Config{Records: 50, DailyQuota: -1}, jobs.Config{IntervalUnit: cfg.IntervalUnit})
	if err != nil {
		return nil, err
	}
	defer r.close()
	res := &ChangeResult{Dialect: r.st.Dialect(), Interval: interval}
	for i := range cfg.Instances {
		if _, err := r.create(ctx, fmt.Sprintf("change %d", i), fmt.Sprintf("http://%s/hook/%d", ln.Addr(), i), cfg.Interval, nil); err != nil {
			return nil, err
		}
	}
	if err := r.engine.Start(ctx); err != nil {
		return nil, err
	}
	// Let the first polls pass (they report nothing: no history), then
	// churn, then wait two intervals for the last changes to arrive.
	time.Sleep(interval + time.Second)
	since := int64(len(r.sim.Journal(0)))
	progress("churning %g changes/s for %s, %d instances polling every %s", cfg.Churn, cfg.Duration, cfg.Instances, interval)
	churnCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	r.sim.Churn(churnCtx, cfg.Churn)
	stop()
	time.Sleep(2*interval + 2*time.Second)

	// Each event reports a record's state at a DATE_UPDATED_UTC: its change
	// is the journal's last change of that record with that date.
	changes := map[string]time.Time{}
	for _, c := range r.sim.Journal(since) {
		if c.Op == sim.OpDelete {
			continue
		}
		updated, err := time.Parse("2006-01-02 15:04:05", c.Updated())
		if err != nil {
			continue
		}
		changes[c.Object+"/"+strconv.FormatInt(c.ID, 10)+"@"+updated.Format(time.RFC3339)] = c.At
	}
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for _, rc := range receipts {
		if at, ok := changes[rc.object+"/"+rc.id+"@"+rc.date]; ok {
			lat = append(lat, rc.at.Sub(at))
		}
	}
	lat = sortedDurations(lat)
	res.Events = len(lat)
	res.P50, res.P99 = percentile(lat, 0.5), percentile(lat, 0.99)
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
	}
	if res.Events == 0 {
		return nil, errNoWork
	}
	return res, nil
}

// Format prints the result.
func (r *ChangeResult) Format() string {
	return fmt.Sprintf(`change to callback on %s, polling every %s, simulator churning
  events timed                %d
  change -> receipt           p50 %s  p99 %s  max %s  (%.2f / %.2f intervals)
`, r.Dialect, r.Interval, r.Events, r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond),
		r.P50.Seconds()/r.Interval.Seconds(), r.P99.Seconds()/r.Interval.Seconds())
}
