package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// DeliveryConfig says what the delivery benchmark offers.
type DeliveryConfig struct {
	Database      string        // "" for a temporary SQLite file
	Notifications int           // stored before the engine starts (throughput); default 20,000
	Callbacks     int           // callback URLs, each drained in order; default 8
	Rate          float64       // offered notifications/s for the latency phase; default 50
	Duration      time.Duration // of the latency phase; default 10 s
	Progress      func(format string, args ...any)
}

// DeliveryResult is what it measured.
type DeliveryResult struct {
	Dialect                  string
	Notifications, Callbacks int
	BodyBytes                int
	Ceiling                  float64 // notifications/s: a plain Go sender, same concurrency, no persistence (median of 3)
	Throughput               float64 // notifications/s: stored notifications through pollhook's engine
	Offered                  float64 // notifications/s in the latency phase
	Latencies                int     // notifications timed in the latency phase
	P50, P99                 time.Duration
	FloorP50, FloorP99       time.Duration // a plain Go POST at the same rate
}

// Ratio is pollhook's throughput against the ceiling.
func (r *DeliveryResult) Ratio() float64 { return r.Throughput / r.Ceiling }

// body is a notification of typical size (one contact, Cloud Elements'
// envelope): the receiver reads it whole.
func body(id string) []byte {
	return fmt.Appendf(nil, `{"severity":"medium","createdDate":"Sat Nov 28 10:00:00 UTC 2026","topic":"instance-1-insightly-events",`+
		`"action":"create","id":%q,"message":{"elementKey":"insightly","accountId":1,"eventId":%q,"companyId":1,"instanceId":1,`+
		`"instance_id":1,"instanceName":"bench","instanceTags":[],"raw":{"contacts":[{"CONTACT_ID":366639103,"FIRST_NAME":"Ada",`+
		`"LAST_NAME":"Lovelace","EMAIL_ADDRESS":"ada@example.com","DATE_CREATED_UTC":"2026-11-28 09:59:58","DATE_UPDATED_UTC":`+
		`"2026-11-28 09:59:58","BACKGROUND":%q,"CUSTOMFIELDS":[],"TAGS":[],"LINKS":[]}],"pollDate":1795860000000,"objectType":"contacts"},`+
		`"userId":1,"events":[{"date":"2026-11-28T09:59:58Z","elementKey":"insightly","pollDate":"2026-11-28T10:00:00Z",`+
		`"eventType":"CREATED","hubKey":"crm","objectId":"366639103","objectType":"contacts"}]},"user":"notifications@cloud-elements.com"}`,
		id, id, strings.Repeat("x", 400))
}

// Delivery measures notifications from the outbox to a loopback
// receiver: the throughput of stored notifications beside a plain Go
// sender's ceiling, then commit-to-receipt latency at an offered rate.
func Delivery(ctx context.Context, cfg DeliveryConfig) (*DeliveryResult, error) {
	cfg.Notifications = max(cfg.Notifications, 0)
	if cfg.Notifications == 0 {
		cfg.Notifications = 20000
	}
	if cfg.Callbacks <= 0 {
		cfg.Callbacks = 8
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 50
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	progress := quietIfNil(cfg.Progress)
	rv, err := newReceiver()
	if err != nil {
		return nil, err
	}
	defer rv.close()
	res := &DeliveryResult{Notifications: cfg.Notifications, Callbacks: cfg.Callbacks, BodyBytes: len(body("0123456789abcdef01234567"))}

	// The ceiling: the same bodies, the same concurrency (one request in
	// flight per callback), nothing stored; the median of three runs, as
	// one run is short enough for the machine's noise to move it by half.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Callbacks * 2}}
	var ceilings []float64
	for run := range 3 {
		progress("ceiling %d/3: %d notifications from a plain Go sender", run+1, cfg.Notifications)
		rv.reset(cfg.Notifications)
		start := time.Now()
		var wg sync.WaitGroup
		for c := range cfg.Callbacks {
			wg.Go(func() {
				for i := c; i < cfg.Notifications; i += cfg.Callbacks {
					id := fmt.Sprintf("ceiling-%d-%d", run, i)
					post(client, fmt.Sprintf("%s/hook/%d", rv.url, c), id, body(id))
				}
			})
		}
		wg.Wait()
		if err := rv.wait(ctx, time.Minute); err != nil {
			return nil, err
		}
		ceilings = append(ceilings, float64(cfg.Notifications)/time.Since(start).Seconds())
	}
	slices.Sort(ceilings)
	res.Ceiling = ceilings[1]

	r, err := newRig(ctx, cfg.Database, sim.Config{Records: 0}, jobs.Config{})
	if err != nil {
		return nil, err
	}
	defer r.close()
	res.Dialect = r.st.Dialect()
	var callbacks []int64
	for c := range cfg.Callbacks {
		url := fmt.Sprintf("%s/hook/%d", rv.url, c)
		if _, err := r.create(ctx, fmt.Sprintf("bench %d", c), url, 1440, map[string]any{"contacts": map[string]any{}}); err != nil {
			return nil, err
		}
		cb, err := r.st.CallbackFor(ctx, r.caller.Org.ID, url)
		if err != nil {
			return nil, err
		}
		callbacks = append(callbacks, cb.ID)
	}
	insts, err := r.st.Instances(ctx, r.caller.Org.ID, store.InstanceFilter{})
	if err != nil || len(insts) != cfg.Callbacks {
		return nil, fmt.Errorf("bench: instances: %v", err)
	}
	// Instances are listed newest first; callbacks[c] belongs to "bench c".
	instanceOf := map[int64]int64{}
	for _, in := range insts {
		var c int
		fmt.Sscanf(in.Name, "bench %d", &c)
		instanceOf[callbacks[c]] = in.ID
	}
	insert := func(tx *store.Tx, cb int64, id string) error {
		return tx.InsertNotification(ctx, &store.Notification{ID: id, OrgID: r.caller.Org.ID, InstanceID: instanceOf[cb],
			CallbackID: cb, Resource: "contacts", Body: body(id)}, nil)
	}

	// Throughput: everything stored first, as after a receiver outage or
	// a burst of changes, then the engine starts and drains it.
	progress("pollhook on %s: storing %d notifications for %d callbacks", res.Dialect, cfg.Notifications, cfg.Callbacks)
	for i := 0; i < cfg.Notifications; {
		cb := callbacks[(i/10)%len(callbacks)]
		err := r.st.InTx(ctx, func(tx *store.Tx) error {
			for j := 0; j < 10 && i+j < cfg.Notifications; j++ {
				if err := insert(tx, cb, fmt.Sprintf("n%08d", i+j)); err != nil {
					return err
				}
			}
			return r.engine.Enqueue(ctx, tx, cb)
		})
		if err != nil {
			return nil, err
		}
		i += 10
	}
	progress("pollhook on %s: delivering", res.Dialect)
	rv.reset(cfg.Notifications)
	start := time.Now()
	if err := r.engine.Start(ctx); err != nil {
		return nil, err
	}
	if err := rv.wait(ctx, 10*time.Minute); err != nil {
		return nil, err
	}
	last := start
	for _, at := range rv.arrivals() {
		if at.After(last) {
			last = at
		}
	}
	res.Throughput = float64(cfg.Notifications) / last.Sub(start).Seconds()

	// Latency at an offered rate: one notification at a time, each in
	// its own transaction as a poll run commits it, round robin over the
	// callbacks; from the commit to its receipt.
	n := int(cfg.Rate * cfg.Duration.Seconds())
	if n < 1 {
		return nil, errNoWork
	}
	progress("pollhook on %s: %d notifications at %g/s", res.Dialect, n, cfg.Rate)
	rv.reset(n)
	committed := make(map[string]time.Time, n)
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	for i := range n {
		<-tick.C
		id := fmt.Sprintf("l%08d", i)
		cb := callbacks[i%len(callbacks)]
		err := r.st.InTx(ctx, func(tx *store.Tx) error {
			if err := insert(tx, cb, id); err != nil {
				return err
			}
			return r.engine.Enqueue(ctx, tx, cb)
		})
		if err != nil {
			tick.Stop()
			return nil, err
		}
		committed[id] = time.Now()
	}
	tick.Stop()
	if err := rv.wait(ctx, 5*time.Minute); err != nil {
		return nil, err
	}
	var lat []time.Duration
	for id, at := range rv.arrivals() {
		lat = append(lat, at.Sub(committed[id]))
	}
	lat = sortedDurations(lat)
	res.Offered, res.Latencies, res.P50, res.P99 = cfg.Rate, len(lat), percentile(lat, 0.5), percentile(lat, 0.99)

	// The floor: a plain POST of the same body at the same rate.
	rv.reset(n)
	floor := make([]time.Duration, 0, n)
	tick = time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	for i := range min(n, 200) {
		<-tick.C
		id := fmt.Sprintf("f%08d", i)
		t0 := time.Now()
		post(client, rv.url+"/hook/0", id, body(id))
		floor = append(floor, time.Since(t0))
	}
	tick.Stop()
	floor = sortedDurations(floor)
	res.FloorP50, res.FloorP99 = percentile(floor, 0.5), percentile(floor, 0.99)
	return res, nil
}

func post(c *http.Client, url, id string, b []byte) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Elements-Webhook-Id", id)
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
}

// Format prints the result as a Markdown table row set.
func (r *DeliveryResult) Format() string {
	return fmt.Sprintf(`delivery on %s: %d notifications (%d B) over %d callbacks
  ceiling (plain Go sender)   %8.0f notifications/s  (median of 3)
  pollhook                    %8.0f notifications/s  (%.2f × the ceiling)
  latency at %g/s offered     p50 %s  p99 %s  (commit → receipt, %d notifications)
  floor (plain POST)          p50 %s  p99 %s
`, r.Dialect, r.Notifications, r.BodyBytes, r.Callbacks, r.Ceiling, r.Throughput, r.Ratio(), r.Offered,
		r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond), r.Latencies,
		r.FloorP50.Round(10*time.Microsecond), r.FloorP99.Round(10*time.Microsecond))
}
