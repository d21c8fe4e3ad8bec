// Package bench measures pollhook against the limits of the machine it
// runs on: every figure comes with a baseline measured in the same run
// (docs/BENCHMARKS.md). `pollhook bench` runs it.
package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/seal"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// receiver is a loopback webhook receiver that notes when each
// notification id first arrives.
type receiver struct {
	srv  *http.Server
	url  string
	mu   sync.Mutex
	at   map[string]time.Time
	want int
	done chan struct{}
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String()}
	r.reset(0)
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	var sink [4096]byte
	for {
		if _, err := req.Body.Read(sink[:]); err != nil {
			break
		}
	}
	id := req.Header.Get("Elements-Webhook-Id")
	r.mu.Lock()
	if _, seen := r.at[id]; !seen {
		r.at[id] = now
		if len(r.at) == r.want {
			close(r.done)
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// reset forgets what arrived and waits for want notifications.
func (r *receiver) reset(want int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at, r.want, r.done = map[string]time.Time{}, want, make(chan struct{})
}

func (r *receiver) wait(ctx context.Context, timeout time.Duration) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		r.mu.Lock()
		defer r.mu.Unlock()
		return fmt.Errorf("only %d of %d notifications arrived within %s", len(r.at), r.want, timeout)
	}
}

// arrivals is a copy of what arrived so far: the prune bench reads it
// while notifications still arrive.
func (r *receiver) arrivals() map[string]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.at)
}

func (r *receiver) close() { r.srv.Close() }

// rig is pollhook's engine on a database, with an Insightly simulator
// for the credential checks instances need.
type rig struct {
	st     *store.Store
	svc    *instance.Service
	engine *jobs.Engine
	caller instance.Caller
	sim    *sim.Sim // nil when the simulator is a process (simProcess)
	simURL string
	simKey string
	// simKeys is every simulated account's owner key, in the accounts'
	// order: simKey is the first.
	simKeys []string
	simSrv  *http.Server
	// requests counts requests to the simulator.
	requests atomic.Int64
	tmp      string
}

// countRequests counts the requests an upstream client sends.
type countRequests struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countRequests) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(req)
}

// newRig opens dsn ("" for a temporary SQLite file) and an engine that
// is not started yet, with an Insightly simulator in this process.
func newRig(ctx context.Context, dsn string, simCfg sim.Config, cfg jobs.Config) (*rig, error) {
	return newRigOn(ctx, dsn, nil, simCfg, cfg)
}

// newRigOn is newRig polling ext, a simulator process, when set.
func newRigOn(ctx context.Context, dsn string, ext *simProcess, simCfg sim.Config, cfg jobs.Config) (*rig, error) {
	r := &rig{}
	if cfg.OrgMaxJobs == 0 {
		// Every instance of a bench belongs to one organization: the cap
		// that keeps tenants fair is the whole pool, as docs/operations.md
		// advises for a one-organization server.
		cfg.OrgMaxJobs = cmp.Or(cfg.Workers, jobs.WorkersDefault)
	}
	if dsn == "" {
		dir, err := os.MkdirTemp("", "pollhook-bench-")
		if err != nil {
			return nil, err
		}
		r.tmp = dir
		dsn = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	var err error
	if r.st, err = store.Open(ctx, dsn); err != nil {
		r.close()
		return nil, err
	}
	if ext != nil {
		r.simURL, r.simKey, r.simKeys = ext.base, ext.key, ext.keys
		if len(r.simKeys) == 0 {
			r.simKeys = []string{ext.key}
		}
	} else if err := r.serveSim(simCfg); err != nil {
		r.close()
		return nil, err
	}
	// The simulator is on loopback: allowed as the operator's --allow-upstream would.
	simAllowed, err := netguard.ParseAllowList(strings.TrimSuffix(strings.TrimPrefix(r.simURL, "http://"), "/v3.1"))
	if err != nil {
		r.close()
		return nil, err
	}
	upstreams := insightly.Upstreams{Allow: simAllowed}
	client := upstreams.Client(insightly.TimeoutDefault)
	client.Transport = countRequests{next: client.Transport, n: &r.requests}
	keys, _ := seal.Parse(seal.NewKey("k1"))
	limits := insightly.NewLimits(1e6, 64)
	if r.st.Dialect() == store.Postgres {
		// As serve does: replicas share each account's pace through the
		// database, one transaction per request (its cost is measured).
		limits.Share(store.NewPace(r.st, 1e6, 1e6, 64, insightly.TimeoutDefault))
	}
	el := insightly.NewElement(insightly.Options{Upstreams: upstreams, Limits: limits, HTTPClient: client})
	r.svc = &instance.Service{Store: r.st, Elements: element.NewRegistry(el), Keys: keys, AllowPrivateCallbacks: true}
	cfg.Store, cfg.Instances, cfg.AllowPrivateCallbacks = r.st, r.svc, true
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if r.engine, err = jobs.New(ctx, cfg); err != nil {
		r.close()
		return nil, err
	}
	r.svc.Scheduler = r.engine
	org := &store.Organization{Name: "bench", SecretHash: auth.Hash(auth.NewSecret())}
	if err := r.st.CreateOrganization(ctx, org); err != nil {
		r.close()
		return nil, err
	}
	u := &store.User{OrgID: org.ID, Email: "bench@pollhook.local", SecretHash: auth.Hash(auth.NewSecret())}
	if err := r.st.CreateUser(ctx, u); err != nil {
		r.close()
		return nil, err
	}
	r.caller = instance.Caller{Org: org, User: u}
	return r, nil
}

// serveSim serves an in-process simulator on a loopback port.
func (r *rig) serveSim(cfg sim.Config) error {
	cfg.RateLimit = -1
	r.sim = sim.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.simSrv = &http.Server{Handler: r.sim.Handler()}
	go r.simSrv.Serve(ln)
	r.simURL, r.simKey = "http://"+ln.Addr().String()+"/v3.1", r.sim.APIKey()
	for _, a := range r.sim.Accounts() {
		r.simKeys = append(r.simKeys, a.Keys[0])
	}
	return nil
}

// create makes an instance through the instance service, as the API does.
func (r *rig) create(ctx context.Context, name, callback string, refresh int, pollers map[string]any) (*instance.View, error) {
	return r.createAs(ctx, r.simKey, name, callback, refresh, pollers)
}

// createAs is create with the API key key (one of simKeys).
func (r *rig) createAs(ctx context.Context, key, name, callback string, refresh int, pollers map[string]any) (*instance.View, error) {
	cfg := map[string]any{"password": key, "base.url": r.simURL, "event.notification.enabled": true,
		"event.poller.refresh_interval": refresh}
	if pollers != nil {
		cfg["event.poller.configuration"] = pollers
	}
	if callback != "" {
		cfg["event.notification.callback.url"] = callback
	}
	body, _ := json.Marshal(map[string]any{"element": map[string]any{"key": "insightly"}, "name": name, "configuration": cfg})
	return r.svc.Create(ctx, r.caller, "", body)
}

func (r *rig) close() {
	if r.engine != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r.engine.StopAndCancel(ctx)
		cancel()
	}
	if r.simSrv != nil {
		r.simSrv.Close()
	}
	if r.st != nil {
		r.st.Close()
	}
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortedDurations(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

var errNoWork = errors.New("bench: nothing to measure")

// quietIfNil is a bench's progress reporter, or one that says nothing
// when the caller gave none.
func quietIfNil(progress func(format string, args ...any)) func(format string, args ...any) {
	if progress == nil {
		return func(string, ...any) {}
	}
	return progress
}
