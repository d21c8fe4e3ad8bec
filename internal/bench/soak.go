package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/oracle"
	"github.com/pollhook/pollhook/internal/seal"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// SoakConfig says what `pollhook bench soak` runs.
type SoakConfig struct {
	Duration     time.Duration // how long the simulator churns, faults and all; default 10m
	Database     string        // "" for SQLite in the run's data directory; postgres://… is passed to serve
	Churn        float64       // simulator changes per second; default 2
	Records      int           // records each simulated object starts with; default 50
	Instances    int           // instances, each polling the four default resources; default 2
	IntervalUnit time.Duration // serve's --interval-unit, the instances polling every unit; default 2s
	SampleEvery  time.Duration // default 5s
	Seed         uint64
	// Dir keeps the run's files (the receiver's file, the children's
	// logs, serve's data directory); "" makes a temporary one, removed
	// when the run finds nothing wrong.
	Dir string
	// Executable is the pollhook binary the children run (default this
	// one); Env is added to their environment (a test binary playing
	// pollhook needs its switch).
	Executable string
	Env        []string
	Progress   func(format string, args ...any)
}

// soakResources are what every instance polls (their defaults).
var soakResources = []oracle.Resource{{Name: "contacts", Object: "Contacts"}, {Name: "accounts", Object: "Organisations"},
	{Name: "leads", Object: "Leads"}, {Name: "opportunities", Object: "Opportunities"}}

// soak is one run: its children and what it has learned so far.
type soak struct {
	cfg       SoakConfig
	dir, dsn  string
	sim       *child
	simHost   string
	simAPI    string // …/v3.1
	simKey    string
	simToken  string
	recv      *child
	recvURL   string
	sigKey    string
	encKey    string
	mu        sync.Mutex // guards serve and serveURL across restarts
	serve     *child
	serveURL  string // http://host:port, without the API's base path
	instances []int64
	started   time.Time
	phase     string
}

var (
	serveReady = regexp.MustCompile(`listening on (http://[^/\s]+)\S*`)
	recvReady  = regexp.MustCompile(`receiver listening on (http://\S+)`)
	simReady   = regexp.MustCompile(`control\s+(http://\S+)/_sim/`)
)

// Soak runs pollhook for cfg.Duration with the simulator churning and
// faults injected on a schedule scaled to the duration: upstream 429s
// and 5xx, a receiver that fails and one that restarts, serve stopped
// with SIGTERM and later with SIGKILL. It samples serve's resources
// throughout, waits for the queue to drain, and checks every change the
// simulator journalled against what the receiver got.
func Soak(ctx context.Context, cfg SoakConfig) (*SoakResult, error) {
	s, err := newSoak(cfg)
	if err != nil {
		return nil, err
	}
	res, err := s.run(ctx)
	s.stopAll()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w (the run's files are in %s)", err, s.dir)
	case res.OK() && cfg.Dir == "":
		os.RemoveAll(s.dir)
	default:
		res.Dir = s.dir
	}
	return res, nil
}

func newSoak(cfg SoakConfig) (*soak, error) {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Minute
	}
	if cfg.Duration < 20*time.Second {
		// Two restarts of serve and one of the receiver need their time.
		return nil, fmt.Errorf("bench: a soak takes at least 20s (--duration %s)", cfg.Duration)
	}
	if cfg.Churn <= 0 {
		cfg.Churn = 2
	}
	if cfg.Records <= 0 {
		cfg.Records = 50
	}
	if cfg.Instances <= 0 {
		cfg.Instances = 2
	}
	if cfg.IntervalUnit <= 0 {
		cfg.IntervalUnit = 2 * time.Second
	}
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = 5 * time.Second
	}
	cfg.Progress = quietIfNil(cfg.Progress)
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Executable = exe
	}
	s := &soak{cfg: cfg, dir: cfg.Dir, simToken: auth.NewSecret(), sigKey: auth.NewSecret(), encKey: seal.NewKey("k1")}
	// A run reads back the whole of the receiver's file: it must start empty.
	if entries, err := os.ReadDir(s.dir); s.dir != "" && err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("bench: %s is not empty: a soak needs a fresh directory", s.dir)
	}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "pollhook-soak-")
		if err != nil {
			return nil, err
		}
		s.dir = dir
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "data"), 0o700); err != nil {
		return nil, err
	}
	s.dsn = cmp.Or(cfg.Database, "sqlite:"+filepath.Join(s.dir, "data", "pollhook.db"))
	return s, nil
}

func (s *soak) run(ctx context.Context) (*SoakResult, error) {
	if err := s.startSim(ctx); err != nil {
		return nil, err
	}
	if err := s.startReceiver(ctx, "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if err := s.startServe(ctx); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, s.dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := s.createInstances(ctx); err != nil {
		return nil, err
	}
	// Every change after this one happened after the instances were
	// enabled: each must be reported.
	journal, err := s.journal(ctx)
	if err != nil {
		return nil, err
	}
	since := lastSeq(journal)
	s.started = time.Now()
	s.cfg.Progress("soak: %s of %g changes/s, %d instances polling every %s, work in %s", s.cfg.Duration, s.cfg.Churn,
		len(s.instances), s.cfg.IntervalUnit, s.dir)

	runCtx, stop := context.WithCancel(ctx)
	churnCtx, stopChurn := context.WithCancel(runCtx)
	var wg, churning sync.WaitGroup
	var samples []Sample
	churning.Go(func() { s.churn(churnCtx) })
	wg.Go(func() { samples = s.sampleUntil(runCtx, st) })
	err = s.faults(runCtx)
	stopChurn()
	churning.Wait()
	churned := time.Now()
	if err == nil {
		s.setPhase("drain")
		s.cfg.Progress("soak: churn over; waiting for the last polls and deliveries")
		err = s.drain(ctx, st, churned)
	}
	stop()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if journal, err = s.journal(ctx); err != nil {
		return nil, err
	}
	s.stopServe(syscall.SIGTERM)
	return s.check(ctx, st, journal, since, samples)
}

// startSim starts the simulator without churn (the run drives it through
// /_sim/step, so that changes start after polling does and stop on
// time), with no rate limit or quota of its own (faults are injected)
// and a journal that keeps the whole run.
func (s *soak) startSim(ctx context.Context) error {
	c, lines, err := startChild(ctx, s.cfg.Executable, s.cfg.Env, filepath.Join(s.dir, "sim.log"), simReady,
		"sim", "insightly", "--addr", "127.0.0.1:0", "--records", strconv.Itoa(s.cfg.Records), "--seed", strconv.FormatUint(s.cfg.Seed, 10),
		"--rate-limit", "-1", "--daily-quota", "-1", "--journal-limit", "100000000", "--control-token", s.simToken)
	if err != nil {
		return err
	}
	s.sim = c
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "base" && f[1] == "URL":
			s.simAPI = f[2]
		case len(f) >= 3 && f[0] == "API" && f[1] == "key" && s.simKey == "":
			s.simKey = f[2]
		}
	}
	u, err := url.Parse(s.simAPI)
	if err != nil || u.Host == "" || s.simKey == "" {
		return fmt.Errorf("bench: the simulator printed no base URL and API key: %q", lines)
	}
	s.simHost = u.Host
	return nil
}

// startReceiver starts `pollhook bench receiver` on addr (the same
// address on a restart: the instances' callback URL does not change).
func (s *soak) startReceiver(ctx context.Context, addr string) error {
	c, lines, err := startChild(ctx, s.cfg.Executable, s.cfg.Env, filepath.Join(s.dir, "receiver.log"), recvReady,
		"bench", "receiver", "--addr", addr, "--out", filepath.Join(s.dir, "received.jsonl"), "--key", s.sigKey)
	if err != nil {
		return err
	}
	s.recv, s.recvURL = c, recvReady.FindStringSubmatch(lines[len(lines)-1])[1]
	return nil
}

// startServe starts `pollhook serve` on the run's data directory (the
// same on a restart), polling every IntervalUnit.
func (s *soak) startServe(ctx context.Context) error {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(s.dir, "data"), "--allow-private-callbacks",
		"--allow-upstream", s.simHost, "--interval-unit", s.cfg.IntervalUnit.String(), "--log-level", "warn",
		"--insightly-rate", "50", "--insightly-concurrency", "8"}
	if s.cfg.Database != "" {
		// On PostgreSQL the restarted serve is another replica: the jobs
		// the killed one held wait --job-rescue-after (an hour by default)
		// before it takes them. Polls here take a second, so a short
		// timeout and rescue keep the soak about the restart, not the wait.
		args = append(args, "--database", s.cfg.Database, "--encryption-key", s.encKey, "--poll-timeout", "20s", "--job-rescue-after", "30s")
	}
	c, lines, err := startChild(ctx, s.cfg.Executable, s.cfg.Env, filepath.Join(s.dir, "serve.log"), serveReady, args...)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.serve, s.serveURL = c, serveReady.FindStringSubmatch(lines[len(lines)-1])[1]
	s.mu.Unlock()
	return nil
}

func (s *soak) serveNow() (*child, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serve, s.serveURL
}

func (s *soak) stopServe(sig syscall.Signal) {
	if c, _ := s.serveNow(); c != nil {
		c.stop(sig)
	}
}

func (s *soak) stopAll() {
	s.stopServe(syscall.SIGTERM)
	for _, c := range []*child{s.recv, s.sim} {
		if c != nil {
			c.stop(syscall.SIGTERM)
		}
	}
}

// createInstances creates the instances through serve's API with the
// first start's credentials, as a client would.
func (s *soak) createInstances(ctx context.Context) error {
	creds, err := os.ReadFile(filepath.Join(s.dir, "data", "credentials"))
	if err != nil {
		return fmt.Errorf("bench: serve's first-start credentials: %w", err)
	}
	var user, org string
	for line := range strings.SplitSeq(string(creds), "\n") {
		if v, ok := strings.CutPrefix(line, "POLLHOOK_USER_SECRET="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(line, "POLLHOOK_ORGANIZATION_SECRET="); ok {
			org = v
		}
	}
	_, base := s.serveNow()
	for i := range s.cfg.Instances {
		body, _ := json.Marshal(map[string]any{"element": map[string]any{"key": "insightly"}, "name": fmt.Sprintf("soak %d", i),
			"configuration": map[string]any{"password": s.simKey, "base.url": s.simAPI, "event.notification.enabled": true,
				"event.notification.callback.url": fmt.Sprintf("%s/hook/%d", s.recvURL, i), "event.notification.signature.key": s.sigKey,
				"event.poller.refresh_interval": 1}})
		var in struct {
			ID int64 `json:"id"`
		}
		if err := callJSON(ctx, "POST", base+"/elements/api-v2/instances", "User "+user+", Organization "+org, body, &in); err != nil {
			return fmt.Errorf("bench: create an instance: %w", err)
		}
		s.instances = append(s.instances, in.ID)
	}
	return nil
}

// callJSON makes one request and decodes a 2xx answer into out.
func callJSON(ctx context.Context, method, url, authorization string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// simControl calls the simulator's control API.
func (s *soak) simControl(ctx context.Context, method, path string, body any, out any) error {
	b, _ := json.Marshal(body)
	return callJSON(ctx, method, "http://"+s.simHost+path, "Bearer "+s.simToken, b, out)
}

func (s *soak) journal(ctx context.Context) ([]sim.Change, error) {
	var changes []sim.Change
	err := s.simControl(ctx, "GET", "/_sim/journal?since=0", nil, &changes)
	return changes, err
}

func lastSeq(journal []sim.Change) int64 {
	if len(journal) == 0 {
		return 0
	}
	return journal[len(journal)-1].Seq
}

// churn applies cfg.Churn random changes a second through /_sim/step
// until ctx ends.
func (s *soak) churn(ctx context.Context) {
	every := max(time.Duration(float64(time.Second)/s.cfg.Churn), 100*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	owed, last := 0.0, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			owed += now.Sub(last).Seconds() * s.cfg.Churn
			last = now
			if n := int(owed); n > 0 {
				owed -= float64(n)
				if err := s.simControl(ctx, "POST", "/_sim/step", map[string]int{"n": n}, nil); err != nil && ctx.Err() == nil {
					s.cfg.Progress("soak: churn: %v", err)
				}
			}
		}
	}
}

func (s *soak) setPhase(p string) {
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
}

func (s *soak) phaseNow() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase
}

// fault is one step of the schedule: at a share of the duration, do.
type fault struct {
	at    float64
	phase string
	do    func(ctx context.Context) error
}

// faults runs the schedule, scaled to the duration, and returns when the
// duration is over. The receiver's outages stay shorter than the second
// retry (64 s after the first failure), so a long soak does not wait for
// the third (512 s).
func (s *soak) faults(ctx context.Context) error {
	d := s.cfg.Duration
	outage := min(d*8/100, 50*time.Second)
	down := min(max(d/50, 2*time.Second), 5*time.Second)
	simFaults := func(f sim.Faults) func(context.Context) error {
		return func(ctx context.Context) error { return s.simControl(ctx, "PUT", "/_sim/faults", f, nil) }
	}
	schedule := []fault{
		{0.10, "upstream 429", simFaults(sim.Faults{FailureRate: 0.3, FailStatus: 429})},
		{0.18, "", simFaults(sim.Faults{})},
		{0.22, "upstream 5xx", simFaults(sim.Faults{FailureRate: 0.3, FailStatus: 503, FailNext: 10})},
		{0.30, "", simFaults(sim.Faults{})},
		{0.35, "receiver 503", func(ctx context.Context) error {
			return callJSON(ctx, "POST", s.recvURL+"/_receiver/fail?for="+outage.String(), "", nil, nil)
		}},
		{0.35 + outage.Seconds()/d.Seconds(), "", nil},
		{0.50, "serve SIGTERM", func(ctx context.Context) error { return s.restartServe(ctx, syscall.SIGTERM) }},
		{0.52, "", nil},
		{0.60, "receiver restart", func(ctx context.Context) error {
			s.recv.stop(syscall.SIGKILL)
			time.Sleep(down)
			return s.startReceiver(ctx, strings.TrimPrefix(s.recvURL, "http://"))
		}},
		{0.62, "", nil},
		{0.75, "serve SIGKILL", func(ctx context.Context) error { return s.restartServe(ctx, syscall.SIGKILL) }},
		{0.77, "", nil},
		{1, "", nil},
	}
	for _, f := range schedule {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(s.started.Add(time.Duration(f.at * float64(d))))):
		}
		s.setPhase(f.phase)
		if f.phase != "" {
			s.cfg.Progress("soak: %s at %s", f.phase, time.Since(s.started).Round(time.Second))
		}
		if f.do != nil {
			if err := f.do(ctx); err != nil {
				return fmt.Errorf("bench: %s: %w", cmp.Or(f.phase, "healing"), err)
			}
		}
	}
	return nil
}

// restartServe stops serve with sig and starts it again on the same data.
func (s *soak) restartServe(ctx context.Context, sig syscall.Signal) error {
	s.stopServe(sig)
	return s.startServe(ctx)
}

// drain waits until every resource of every instance was polled by a run
// that started after the last change, and every notification in the
// outbox was delivered. A run that ended after the churn may have begun
// before it, so it waits for one more: a run that ends after every
// resource has had a run end after the churn began after that run.
func (s *soak) drain(ctx context.Context, st *store.Store, churned time.Time) error {
	deadline := time.Now().Add(10 * time.Minute)
	after, stage := churned.Add(time.Second), 1
	for {
		polled, pending, err := s.outstanding(ctx, st, after)
		if err != nil {
			return err
		}
		if polled && stage == 1 {
			after, stage = time.Now(), 2
			continue
		}
		if polled && pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: not drained 10 minutes after the churn (polled after it: %v, notifications pending: %d)", polled, pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// outstanding says whether every poll succeeded after `after`, and how
// many notifications are not delivered yet.
func (s *soak) outstanding(ctx context.Context, st *store.Store, after time.Time) (bool, int, error) {
	polled := true
	pending := 0
	for _, id := range s.instances {
		polls, err := st.PollsOf(ctx, id)
		if err != nil {
			return false, 0, err
		}
		polled = polled && len(polls) == len(soakResources)
		for _, p := range polls {
			polled = polled && p.LastOKAt.After(after)
		}
		ns, err := outbox(ctx, st, id)
		if err != nil {
			return false, 0, err
		}
		for _, n := range ns {
			if n.Status != store.NotificationDelivered {
				pending++
			}
		}
	}
	return polled, pending, nil
}

// outbox is every notification of an instance, page by page.
func outbox(ctx context.Context, st *store.Store, instanceID int64) ([]*store.Notification, error) {
	in, err := st.InstanceByID(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	var all []*store.Notification
	var after int64
	for {
		page, err := st.Notifications(ctx, in.OrgID, store.NotificationFilter{InstanceID: instanceID, AfterSeq: after})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < store.MaxNotificationPage {
			return all, nil
		}
		after = page[len(page)-1].Seq
	}
}
