package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/oracle"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// Sample is serve as the soak saw it at one moment, and the deliveries
// since the sample before.
type Sample struct {
	At         time.Duration // since the churn began
	Phase      string        // the fault in force, if any
	RSS        int64         // serve's VmRSS, bytes
	Goroutines int           // serve's go_goroutines
	FDs        int           // serve's open files
	DBBytes    int64         // the database on disk (SQLite files) or its tables (PostgreSQL)
	// Events first received since the sample before, and their latency
	// from the change (the simulator's clock) to the receipt.
	Events   int
	P50, Max time.Duration
}

// sampleUntil samples serve every SampleEvery until ctx ends.
func (s *soak) sampleUntil(ctx context.Context, st *store.Store) []Sample {
	var out []Sample
	t := time.NewTicker(s.cfg.SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
			out = append(out, s.sample(ctx, st))
		}
	}
}

func (s *soak) sample(ctx context.Context, st *store.Store) Sample {
	c, base := s.serveNow()
	pid := strconv.Itoa(c.pid())
	fds, _ := os.ReadDir("/proc/" + pid + "/fd")
	return Sample{At: time.Since(s.started), Phase: s.phaseNow(), RSS: procStatus(pid, "VmRSS"), FDs: len(fds),
		Goroutines: int(metricValue(ctx, base+"/metrics", "go_goroutines")), DBBytes: s.databaseSize(ctx, st)}
}

// metricValue reads one unlabelled metric from a Prometheus text page
// (-1 when serve does not answer: it is restarting).
func metricValue(ctx context.Context, url, name string) float64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// databaseSize is what the database takes: the SQLite file with its WAL,
// or on PostgreSQL the tables and indexes of the schema.
func (s *soak) databaseSize(ctx context.Context, st *store.Store) int64 {
	if st.Dialect() == store.Postgres {
		var n int64
		st.DB().QueryRowContext(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
			JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n)
		return n
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "data", "pollhook.db*"))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// SoakResult is what a soak found.
type SoakResult struct {
	Dialect   string
	Duration  time.Duration
	Instances int
	Changes   int // journalled after polling began, in the polled objects
	// Deliveries are the POSTs the receiver took; Notifications the
	// distinct webhook ids among them; Events the events they carried.
	Deliveries, Notifications, Events int
	RetriedIDs                        int // webhook ids received more than once (retries: same id, same body)
	DuplicateContent                  int // an event in two notifications of different ids: must be 0
	BadSignatures                     int
	Lost                              int      // changes never reported, or reported short of their last version, or outbox notifications that never arrived
	Violations                        []string // everything the oracle and the outbox check found
	P50, P99, Max                     time.Duration
	Samples                           []Sample
	Started                           time.Time // when the churn began
	// windows are the latencies of each sample's events, for Format to
	// merge the samples it leaves out into the row it prints.
	windows     [][]time.Duration
	SampleEvery time.Duration
	Dir         string // where the run's files were kept, when they were
}

// OK is true when nothing was lost, doubled or forged.
func (r *SoakResult) OK() bool { return len(r.Violations) == 0 && r.BadSignatures == 0 }

// received is one notification as the receiver first took it.
type received struct {
	id       string
	at       time.Time
	instance int64
	events   []*store.Event
}

// check compares the journal with what the receiver got (the oracle) and
// with the outbox (every notification arrived), and times the events.
func (s *soak) check(ctx context.Context, st *store.Store, journal []sim.Change, since int64, samples []Sample) (*SoakResult, error) {
	res := &SoakResult{Dialect: st.Dialect(), Duration: s.cfg.Duration, Instances: len(s.instances), Started: s.started,
		SampleEvery: s.cfg.SampleEvery}
	got, err := s.readReceipts(res)
	if err != nil {
		return nil, err
	}
	objects := map[string]bool{}
	for _, r := range soakResources {
		objects[r.Object] = true
	}
	for _, c := range journal {
		if c.Seq > since && objects[c.Object] {
			res.Changes++
		}
	}
	byInstance := map[int64][]*store.Event{}
	where := map[string]string{} // an event's content → the notification that carried it
	for _, n := range got {
		for _, e := range n.events {
			k := strconv.FormatInt(n.instance, 10) + ":" + e.Resource + "/" + e.ObjectID + "@" + e.Date.String() + "/" + e.Type + "/" + e.ProviderData
			if other, dup := where[k]; dup && other != n.id {
				res.DuplicateContent++
				res.Violations = append(res.Violations, fmt.Sprintf("%s/%s went out in notifications %s and %s", e.Resource, e.ObjectID, other, n.id))
			}
			where[k] = n.id
			byInstance[n.instance] = append(byInstance[n.instance], e)
			res.Events++
		}
	}
	for _, id := range s.instances {
		for _, v := range oracle.Check(byInstance[id], journal, since, soakResources) {
			res.Violations = append(res.Violations, fmt.Sprintf("instance %d: %s", id, v))
			if strings.Contains(v, "never reported") || strings.Contains(v, "not the final version") {
				res.Lost++
			}
		}
		if err := checkOutbox(ctx, st, id, got, res); err != nil {
			return nil, err
		}
	}
	res.Samples = timeSamples(samples, got, journal, s.started, res)
	return res, nil
}

// readReceipts reads the receiver's file: the first receipt of each
// webhook id, in the order they arrived; a repeat must be a retry, the
// same body again.
func (s *soak) readReceipts(res *SoakResult) ([]*received, error) {
	f, err := os.Open(filepath.Join(s.dir, "received.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	first := map[string]json.RawMessage{}
	retried := map[string]bool{}
	var out []*received
	dec := json.NewDecoder(f)
	for {
		var r receipt
		if err := dec.Decode(&r); err == io.EOF {
			res.RetriedIDs = len(retried)
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("bench: the receiver's file: %w", err)
		}
		res.Deliveries++
		if !r.Signature {
			res.BadSignatures++
		}
		if body, ok := first[r.ID]; ok {
			retried[r.ID] = true
			if !bytes.Equal(body, r.Body) {
				res.Violations = append(res.Violations, fmt.Sprintf("notification %s arrived twice with different bodies", r.ID))
			}
			continue
		}
		first[r.ID] = r.Body
		n, err := parseNotification(r)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		res.Notifications++
	}
}

// parseNotification reads a notification's events back as the store
// held them, each with the record the notification carried in raw.
func parseNotification(r receipt) (*received, error) {
	var env struct {
		Message struct {
			InstanceID int64 `json:"instanceId"`
			Events     []struct{ Date, EventType, ObjectID, ObjectType string }
			Raw        map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(r.Body, &env); err != nil {
		return nil, fmt.Errorf("bench: notification %s: %w", r.ID, err)
	}
	n := &received{id: r.ID, at: r.At, instance: env.Message.InstanceID}
	for i, e := range env.Message.Events {
		var records []json.RawMessage
		json.Unmarshal(env.Message.Raw[e.ObjectType], &records)
		date, err := time.Parse(time.RFC3339, e.Date)
		if err != nil || i >= len(records) {
			return nil, fmt.Errorf("bench: notification %s: event %d has no date or no record", r.ID, i)
		}
		n.events = append(n.events, &store.Event{Resource: e.ObjectType, ObjectID: e.ObjectID, Type: e.EventType,
			Date: date, ProviderData: string(records[i])})
	}
	return n, nil
}

// checkOutbox: every notification serve stored for the instance was
// delivered and arrived.
func checkOutbox(ctx context.Context, st *store.Store, instanceID int64, got []*received, res *SoakResult) error {
	ns, err := outbox(ctx, st, instanceID)
	if err != nil {
		return err
	}
	arrived := map[string]bool{}
	for _, n := range got {
		arrived[n.id] = true
	}
	for _, n := range ns {
		if !arrived[n.ID] {
			res.Lost++
			res.Violations = append(res.Violations, fmt.Sprintf("instance %d: notification %s (%s) never arrived", instanceID, n.ID, n.Status))
		}
	}
	return nil
}

// timeSamples gives each sample the events first received since the one
// before, timed from their change: the journal's last write of the
// record with the event's DATE_UPDATED_UTC, on the simulator's clock.
func timeSamples(samples []Sample, got []*received, journal []sim.Change, started time.Time, res *SoakResult) []Sample {
	changed := map[string]time.Time{}
	for _, c := range journal {
		if u, err := time.Parse("2006-01-02 15:04:05", c.Updated()); err == nil && c.Op != sim.OpDelete {
			changed[c.Object+"/"+strconv.FormatInt(c.ID, 10)+"@"+u.Format(time.RFC3339)] = c.At
		}
	}
	objects := map[string]string{}
	for _, r := range soakResources {
		objects[r.Name] = r.Object
	}
	windows := make([][]time.Duration, len(samples))
	var all []time.Duration
	for _, n := range got {
		at := n.at.Sub(started)
		w, _ := slices.BinarySearchFunc(samples, at, func(s Sample, at time.Duration) int { return cmpDuration(s.At, at) })
		for _, e := range n.events {
			c, ok := changed[objects[e.Resource]+"/"+e.ObjectID+"@"+e.Date.Format(time.RFC3339)]
			if !ok {
				continue
			}
			all = append(all, n.at.Sub(c))
			if w < len(windows) {
				windows[w] = append(windows[w], n.at.Sub(c))
			}
		}
	}
	all = sortedDurations(all)
	res.P50, res.P99 = percentile(all, 0.5), percentile(all, 0.99)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	for i, w := range windows {
		samples[i].Events, samples[i].P50, samples[i].Max = latencies(w)
	}
	res.windows = windows
	return samples
}

// latencies are the count, median and maximum of ds.
func latencies(ds []time.Duration) (int, time.Duration, time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	ds = sortedDurations(ds)
	return len(ds), percentile(ds, 0.5), ds[len(ds)-1]
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Format prints the verdict and about twenty of the samples.
func (r *SoakResult) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak on %s: %s of churn with faults, %d instances, then drained\n", r.Dialect, r.Duration, r.Instances)
	fmt.Fprintf(&b, "  changes journalled          %d\n", r.Changes)
	fmt.Fprintf(&b, "  received                    %d POSTs, %d notifications, %d events\n", r.Deliveries, r.Notifications, r.Events)
	fmt.Fprintf(&b, "  lost                        %d\n", r.Lost)
	fmt.Fprintf(&b, "  duplicates by webhook id    %d ids received more than once (retries, same body)\n", r.RetriedIDs)
	fmt.Fprintf(&b, "  duplicates by content       %d (an event in two notifications)\n", r.DuplicateContent)
	fmt.Fprintf(&b, "  bad signatures              %d\n", r.BadSignatures)
	fmt.Fprintf(&b, "  change -> receipt           p50 %s  p99 %s  max %s\n", r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond))
	fmt.Fprintf(&b, "\n  %8s  %8s  %10s  %5s  %8s  %6s  %8s  %8s  %s\n", "t", "RSS MiB", "goroutines", "fds", "DB MiB", "events", "p50", "max", "fault")
	// Every step-th sample, the last, and the first of each fault; the
	// events (and their latency) of the samples left out go to the next
	// row printed.
	step := max(1, (len(r.Samples)+19)/20)
	phase := ""
	var since []time.Duration
	for i, s := range r.Samples {
		changed := s.Phase != phase
		phase = s.Phase
		if i < len(r.windows) {
			since = append(since, r.windows[i]...)
		}
		if i%step != 0 && i != len(r.Samples)-1 && !changed {
			continue
		}
		n, p50, worst := latencies(since)
		since = nil
		goroutines := "—" // serve did not answer: it was restarting
		if s.Goroutines >= 0 {
			goroutines = strconv.Itoa(s.Goroutines)
		}
		fmt.Fprintf(&b, "  %8s  %8.1f  %10s  %5d  %8.1f  %6d  %8s  %8s  %s\n", s.At.Round(time.Second), mib(s.RSS), goroutines, s.FDs,
			mib(s.DBBytes), n, p50.Round(100*time.Millisecond), worst.Round(100*time.Millisecond), s.Phase)
	}
	if len(r.Violations) > 0 {
		fmt.Fprintf(&b, "\n%d violations:\n", len(r.Violations))
		for _, v := range r.Violations[:min(len(r.Violations), 20)] {
			fmt.Fprintf(&b, "  %s\n", v)
		}
	}
	if r.Dir != "" {
		fmt.Fprintf(&b, "\nthe run's files (logs, received.jsonl, data) are in %s\n", r.Dir)
	}
	return b.String()
}
