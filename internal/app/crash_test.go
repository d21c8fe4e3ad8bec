package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/oracle"
	"github.com/pollhook/pollhook/internal/seal"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestMain lets the test binary run as pollhook itself, so crash tests
// can start real pollhook processes and kill them.
func TestMain(m *testing.M) {
	auth.PasswordCost = auth.MinPasswordCost // every first start hashes a console password
	if os.Getenv("POLLHOOK_TEST_AS_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// process is a pollhook serve running as its own OS process.
type process struct {
	cmd  *exec.Cmd
	base string
	logs *lockedWriter
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--allow-private-callbacks", "--allow-upstream", "127.0.0.1",
		"--insightly-rate", "1000", "--insightly-concurrency", "8", "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "POLLHOOK_TEST_AS_MAIN=1")
	logs := &lockedWriter{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("pollhook did not start: %q %v\n%s", line, err, logs.String())
	}
	go io.Copy(io.Discard, out)
	return &process{cmd: cmd, base: m[1], logs: logs}
}

// kill ends the process at once, as a crash or an OOM kill would.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *process) call(t *testing.T, method, path, authz string, body any) (*http.Response, []byte) {
	t.Helper()
	h := &harness{t: t, base: p.base}
	return h.call(method, path, authz, body)
}

var crashResources = []oracle.Resource{{Name: "contacts", Object: "Contacts"}, {Name: "accounts", Object: "Organisations"},
	{Name: "leads", Object: "Leads"}, {Name: "opportunities", Object: "Opportunities"}}

// createPolled creates an instance polling every second (with a 1 s
// interval unit) whose notifications go to hook.
func createPolled(t *testing.T, p *process, creds credentials, s *sim.Sim, simURL, hook string) instanceJSON {
	t.Helper()
	body := map[string]any{"element": map[string]any{"key": "insightly"}, "name": "crash", "configuration": map[string]any{
		"password": s.APIKey(), "base.url": simURL, "event.notification.enabled": true,
		"event.notification.callback.url": hook, "event.poller.refresh_interval": 1}}
	resp, out := p.call(t, "POST", "/instances", creds.header(), body)
	want(t, resp, out, 200, "")
	var in instanceJSON
	json.Unmarshal(out, &in)
	return in
}

// settled waits until every poll of the instance has succeeded after t0.
func settled(t *testing.T, dsn string, instanceID int64, t0 time.Time) {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		polls, err := st.PollsOf(context.Background(), instanceID)
		ok := err == nil && len(polls) == len(crashResources)
		for _, p := range polls {
			ok = ok && p.LastOKAt.After(t0)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("polls did not all succeed after %s: %v", t0, describePolls(polls))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func describePolls(polls []*store.Poll) string {
	var b strings.Builder
	for _, p := range polls {
		fmt.Fprintf(&b, "%s: runs %d, ok at %s, error %q; ", p.Resource, p.Runs, p.LastOKAt.Format(time.TimeOnly), p.LastError)
	}
	return b.String()
}

// checkDelivered waits until every notification is delivered and checks
// the receiver got each (repeats only as retries: same id, same body) and
// that no event went out in two different notifications.
func checkDelivered(t *testing.T, dsn string, instanceID int64, hook *hookServer) {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in, _ := st.InstanceByID(context.Background(), instanceID)
	var ns []*store.Notification
	deadline := time.Now().Add(90 * time.Second)
	for {
		ns, _ = st.Notifications(context.Background(), in.OrgID, store.NotificationFilter{InstanceID: instanceID})
		pending := 0
		for _, n := range ns {
			if n.Status != store.NotificationDelivered {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d notifications undelivered", pending, len(ns))
		}
		time.Sleep(200 * time.Millisecond)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	got := map[string]string{}
	for i, h := range hook.heads {
		var env struct{ Message struct{ InstanceID int64 } }
		if json.Unmarshal(hook.bodies[i], &env); env.Message.InstanceID != instanceID {
			continue // another instance's
		}
		id := h.Get("Elements-Webhook-Id")
		if prev, ok := got[id]; ok && prev != string(hook.bodies[i]) {
			t.Errorf("notification %s arrived twice with different bodies", id)
		}
		got[id] = string(hook.bodies[i])
	}
	events := map[string]string{}
	for _, n := range ns {
		if _, ok := got[n.ID]; !ok {
			t.Errorf("notification %s is marked delivered but never arrived", n.ID)
		}
		var env struct {
			Message struct {
				Events []struct{ ObjectID, Date, EventType, ObjectType string }
				Raw    map[string]json.RawMessage
			}
		}
		json.Unmarshal(n.Body, &env)
		for i, e := range env.Message.Events {
			// Two changes within one second are two events with one date:
			// the record's content tells them apart.
			var records []json.RawMessage
			json.Unmarshal(env.Message.Raw[e.ObjectType], &records)
			k := e.ObjectID + "@" + e.Date + "/" + e.EventType + "/" + string(records[i])
			if other, dup := events[k]; dup {
				t.Errorf("event %s went out in notifications %s and %s", k[:min(len(k), 60)], other, n.ID)
			}
			events[k] = n.ID
		}
	}
	if len(got) != len(ns) {
		t.Errorf("the receiver saw %d notification ids, the outbox has %d", len(got), len(ns))
	}
}

func checkOracle(t *testing.T, dsn string, orgInstance int64, s *sim.Sim, since int64) int {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in, err := st.InstanceByID(context.Background(), orgInstance)
	if err != nil {
		t.Fatal(err)
	}
	var events []*store.Event
	var after int64
	for {
		page, err := st.Events(context.Background(), in.OrgID, store.EventFilter{InstanceID: in.ID, AfterSeq: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		events = append(events, page...)
		after = page[len(page)-1].Seq
	}
	for _, v := range oracle.Check(events, s.Journal(0), since, crashResources) {
		t.Error(v)
	}
	return len(events)
}

// pollhook killed at random moments, mid-page or mid-commit, and started
// again, while records keep changing: no change is lost or doubled.
func TestCrashAndRestart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("crash test: runs for about 20 s")
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	// No daily quota: four polls a second would be stretched to keep the
	// reserve (TestQuotaStretch* test that), and this test is about crashes.
	s := sim.New(sim.Config{Records: 40, Seed: seed, RateLimit: -1, DailyQuota: -1})
	// A little latency, so kills land inside runs too.
	s.SetFaults(sim.Faults{Latency: sim.Duration(20 * time.Millisecond)})
	simSrv := httptest.NewServer(s.Handler())
	t.Cleanup(simSrv.Close)
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--interval-unit", "1s"}
	p := startProcess(t, args...)
	creds, err := readCredentials(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	// A receiver slow enough that kills land mid-delivery too.
	hook := newHookServer(t, func() int { time.Sleep(30 * time.Millisecond); return 200 })
	in := createPolled(t, p, creds, s, simSrv.URL+"/v3.1", hook.srv.URL+"/hook")
	since := int64(len(s.Journal(0)))

	ctx, stop := context.WithCancel(context.Background())
	churned := make(chan struct{})
	go func() { s.Churn(ctx, 15); close(churned) }()
	for i := range 6 {
		time.Sleep(time.Duration(300+rng.IntN(2000)) * time.Millisecond)
		p.kill()
		p = startProcess(t, args...)
		t.Logf("kill %d done", i+1)
	}
	stop()
	<-churned
	settled(t, "sqlite:"+filepath.Join(dir, "pollhook.db"), in.ID, time.Now().Add(time.Second))
	checkDelivered(t, "sqlite:"+filepath.Join(dir, "pollhook.db"), in.ID, hook)
	p.kill()
	n := checkOracle(t, "sqlite:"+filepath.Join(dir, "pollhook.db"), in.ID, s, since)
	if n == 0 {
		t.Error("no events at all")
	}
	if t.Failed() {
		t.Logf("seed %d", seed)
	}
}

// Two replicas on one PostgreSQL database; the one running a poll is
// killed mid-run; the survivor rescues the job and polling goes on.
func TestFailoverBetweenReplicas(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("failover test: runs for up to a minute")
	}
	dsn := testdb.FreshSchema(t, testdb.PostgresURL(t))
	s := sim.New(sim.Config{Records: 20, RateLimit: -1, DailyQuota: -1})
	simSrv := httptest.NewServer(s.Handler())
	t.Cleanup(simSrv.Close)
	args := []string{"--database", dsn, "--encryption-key", seal.NewKey("k1"), "--interval-unit", "1s",
		"--poll-timeout", "5s", "--job-rescue-after", "6s"}
	dirA := t.TempDir()
	a := startProcess(t, append(args, "--data-dir", dirA)...)
	creds, err := readCredentials(filepath.Join(dirA, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	hook := newHookServer(t, func() int { time.Sleep(20 * time.Millisecond); return 200 })
	in := createPolled(t, a, creds, s, simSrv.URL+"/v3.1", hook.srv.URL+"/hook")
	since := int64(len(s.Journal(0)))
	// Slow answers: runs last seconds, so the kill lands in one.
	s.SetFaults(sim.Faults{Latency: sim.Duration(700 * time.Millisecond)})
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eventually(t, "a running poll job", func() bool {
		var n int
		st.DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'poll' AND state = 'running'`).Scan(&n)
		return n > 0
	})
	b := startProcess(t, append(args, "--data-dir", t.TempDir())...)
	s.Step(20)
	a.kill()
	killed := time.Now()
	s.SetFaults(sim.Faults{})
	settled(t, dsn, in.ID, killed)
	t.Logf("the survivor polled every resource %s after the kill", time.Since(killed).Round(time.Second))
	// Changes after the failover are reported too.
	s.Step(20)
	settled(t, dsn, in.ID, time.Now().Add(time.Second))
	checkDelivered(t, dsn, in.ID, hook)
	b.kill()
	checkOracle(t, dsn, in.ID, s, since)
}

// Three replicas on one PostgreSQL database share the polling and the
// delivery of several instances while records churn; the one running a
// job is killed with SIGKILL; the survivors take over its polls and
// callbacks. Every change is reported once (the oracle), every
// notification delivered, repeats only as retries with the same id.
func TestScaleOutThreeReplicas(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("scale-out test: runs for about a minute")
	}
	dsn := testdb.FreshSchema(t, testdb.PostgresURL(t))
	seed := uint64(time.Now().UnixNano())
	s := sim.New(sim.Config{Records: 30, Seed: seed, RateLimit: -1, DailyQuota: -1})
	s.SetFaults(sim.Faults{Latency: sim.Duration(30 * time.Millisecond)})
	simSrv := httptest.NewServer(s.Handler())
	t.Cleanup(simSrv.Close)
	args := []string{"--database", dsn, "--encryption-key", seal.NewKey("k1"), "--interval-unit", "1s",
		"--poll-timeout", "5s", "--job-rescue-after", "6s"}
	dirA := t.TempDir()
	replicas := []*process{startProcess(t, append(args, "--data-dir", dirA)...)}
	creds, err := readCredentials(filepath.Join(dirA, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		replicas = append(replicas, startProcess(t, append(args, "--data-dir", t.TempDir())...))
	}
	hook := newHookServer(t, func() int { time.Sleep(10 * time.Millisecond); return 200 })
	var instances []instanceJSON
	for i := range 4 {
		// Each through another replica, each with its own callback.
		instances = append(instances, createPolled(t, replicas[i%3], creds, s, simSrv.URL+"/v3.1", fmt.Sprintf("%s/hook/%d", hook.srv.URL, i)))
	}
	since := int64(len(s.Journal(0)))
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	workers := func() map[string]int {
		out := map[string]int{}
		rows, err := st.DB().Query(`SELECT attempted_by[array_length(attempted_by, 1)], state FROM river_job
			WHERE kind IN ('poll', 'deliver') AND attempted_by IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var by, state string
			rows.Scan(&by, &state)
			out[by]++
			if state == "running" {
				out["running:"+by]++
			}
		}
		return out
	}

	ctx, stop := context.WithCancel(context.Background())
	churned := make(chan struct{})
	go func() { s.Churn(ctx, 20); close(churned) }()
	// The work spreads: every replica has run jobs.
	eventually(t, "jobs run by all three replicas", func() bool {
		w := workers()
		n := 0
		for _, p := range replicas {
			if w[replicaOf(p)] > 0 {
				n++
			}
		}
		return n == 3
	})
	// Kill the replica running a job, mid-run.
	var victim *process
	eventually(t, "a replica running a job", func() bool {
		w := workers()
		for _, p := range replicas {
			if w["running:"+replicaOf(p)] > 0 {
				victim = p
				return true
			}
		}
		return false
	})
	victim.kill()
	killed := time.Now()
	time.Sleep(3 * time.Second) // more changes while the survivors take over
	stop()
	<-churned
	for _, in := range instances {
		settled(t, dsn, in.ID, killed)
	}
	t.Logf("the survivors polled every resource of every instance %s after the kill", time.Since(killed).Round(time.Second))
	for _, in := range instances {
		settled(t, dsn, in.ID, time.Now().Add(time.Second))
		checkDelivered(t, dsn, in.ID, hook)
	}
	// The dead replica's jobs now belong to the survivors.
	w := workers()
	dead := replicaOf(victim)
	var jobs []string
	rows, err := st.DB().Query(`SELECT kind || ' ' || args::text FROM river_job
		WHERE kind IN ('poll', 'deliver') AND state NOT IN ('completed', 'cancelled', 'discarded')
		AND attempted_by[array_length(attempted_by, 1)] = $1`, dead)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var j string
		rows.Scan(&j)
		jobs = append(jobs, j)
	}
	rows.Close()
	if len(jobs) > 0 {
		t.Errorf("jobs still last run by the dead replica %s: %v (workers %v)", dead, jobs, w)
	}
	for _, p := range replicas {
		if p != victim {
			p.kill()
		}
	}
	for _, in := range instances {
		if n := checkOracle(t, dsn, in.ID, s, since); n == 0 {
			t.Errorf("instance %d reported no events", in.ID)
		}
	}
	if t.Failed() {
		t.Logf("seed %d", seed)
	}
}

// replicaOf is the job engine's name for a replica (jobs.ReplicaID).
func replicaOf(p *process) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, p.cmd.Process.Pid)
}
