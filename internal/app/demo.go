package app

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/api"
	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/sim/insightly"
)

// runDemo: `pollhook demo` shows pollhook working with no Insightly
// account and no other service: the simulator with churning data,
// `serve` on a temporary SQLite file, a receiver that prints every
// notification and checks its signature, and a demo instance created
// through the real API.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pollhook demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address of the demo server (port 0 picks a free one)")
	every := fs.Duration("interval", 10*time.Second, "how often each resource is polled (the demo's interval unit)")
	churn := fs.Float64("churn", 1, "random changes per second in the simulated Insightly")
	records := fs.Int("records", 50, "records each simulated object starts with")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the simulated data")
	keep := fs.Bool("keep", false, "keep the demo's data directory on exit")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *every < time.Second {
		fmt.Fprintln(stderr, "pollhook demo: -interval must be at least 1s")
		return errUsage
	}
	dir, err := os.MkdirTemp("", "pollhook-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}

	// The simulated Insightly.
	sim := insightly.New(insightly.Config{Seed: *seed, Records: *records})
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	go serveHTTP(ctx, simLn, sim.Handler(), quiet)
	go sim.Churn(ctx, *churn)
	simURL := "http://" + simLn.Addr().String() + "/v3.1"

	// The receiver.
	sigKey := auth.NewSecret()
	recv := &demoReceiver{out: stdout, key: sigKey}
	recvLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go serveHTTP(ctx, recvLn, recv, quiet)
	hookURL := "http://" + recvLn.Addr().String() + "/webhooks/insightly"

	// pollhook itself.
	cfg := serverConfig{Addr: *addr, DataDir: dir, AllowPrivateCallbacks: true, AllowUpstream: simLn.Addr().String(), LogLevel: "warn",
		InsightlyRate: 5, InsightlyConcurrency: 4, IntervalUnit: *every, QuotaReserve: QuotaReserveDefault}
	log := slog.New(slog.NewTextHandler(&lockedBuffer{w: stderr}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := newServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("%w (try -addr 127.0.0.1:0)", err)
	}
	if err := srv.start(ctx); err != nil {
		return err
	}
	defer srv.stop()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, ln, srv.handler, log) }()
	base := "http://" + ln.Addr().String() + api.BasePath
	creds, err := readCredentials(srv.credentials)
	if err != nil {
		return err
	}

	// The demo instance, through the API like any client.
	body, _ := json.Marshal(map[string]any{"element": map[string]any{"key": "insightly"}, "name": "Demo", "tags": []string{"demo"},
		"configuration": map[string]any{"username": "demo@example.com", "password": sim.APIKey(), "base.url": simURL,
			"event.notification.enabled": true, "event.vendor.type": "polling", "event.notification.callback.url": hookURL,
			"event.notification.signature.key": sigKey, "event.poller.refresh_interval": "1",
			"event.poller.configuration": map[string]any{"contacts": map[string]any{}, "accounts": map[string]any{},
				"leads": map[string]any{}, "opportunities": map[string]any{}}}})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/instances", bytes.NewReader(body))
	req.Header.Set("Authorization", creds.header())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("creating the demo instance: %d %s", resp.StatusCode, out)
	}
	var inst struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	json.Unmarshal(out, &inst)

	fmt.Fprintf(stdout, `pollhook demo: a simulated Insightly (%g changes/s), pollhook on SQLite, and a receiver.

  API          %s
  Authorization: %s
  Console      http://%s/  sign in as %s with the password %s
  Hub calls    Authorization: User %s, Element %s
  Try          curl -H 'Authorization: %s' %s/instances/%d/polls
               curl -H 'Authorization: User %s, Element %s' '%s/hubs/crm/contacts?pageSize=3'
  CLI          export POLLHOOK_SERVER=%s POLLHOOK_USER_SECRET=%s POLLHOOK_ORGANIZATION_SECRET=%s
               go run ./cmd/pollhook instances show %d;  go run ./cmd/pollhook events list

Polling contacts, accounts, leads and opportunities every %s (changes made before the demo
started are not reported). Each notification the receiver gets is printed below. Ctrl-C stops.

`, *churn, base, creds.header(), ln.Addr().String(), creds.Email, creds.ConsolePassword, creds.User, inst.Token, creds.header(), base, inst.ID,
		creds.User, inst.Token, base, strings.TrimSuffix(base, api.BasePath), creds.User, creds.Organization, inst.ID, *every)

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	recv.mu.Lock()
	fmt.Fprintf(stdout, "\nstopping: %d notifications (%d events) received, %d signatures verified\n", recv.n, recv.events, recv.good)
	recv.mu.Unlock()
	if *keep {
		fmt.Fprintf(stdout, "the demo's data is in %s\n", dir)
	}
	return nil
}

// demoReceiver prints every notification, one line per event.
type demoReceiver struct {
	mu      sync.Mutex
	out     io.Writer
	key     string
	n, good int
	events  int
}

func (d *demoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "unreadable", http.StatusBadRequest)
		return
	}
	ok := r.Header.Get("Elements-Webhook-Signature") == delivery.ElementsSignature(d.key, body)
	var env struct {
		CreatedDate string `json:"createdDate"`
		Message     struct {
			Events []struct {
				EventType, ObjectType, ObjectID, Date string
			} `json:"events"`
		} `json:"message"`
	}
	json.Unmarshal(body, &env)
	mark := "signature ok"
	if !ok {
		mark = "SIGNATURE MISMATCH"
	}
	d.mu.Lock()
	d.n++
	d.events += len(env.Message.Events)
	if ok {
		d.good++
	}
	for _, e := range env.Message.Events {
		// From the change (its DATE_UPDATED_UTC, whole seconds) to now:
		// mostly the wait for the next poll.
		latency := "?"
		if t, err := time.Parse(time.RFC3339, e.Date); err == nil {
			latency = time.Since(t).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(d.out, "%s  %-8s %-14s %-10s %6s after the change   %s\n",
			time.Now().Format(time.TimeOnly), e.EventType, e.ObjectType, e.ObjectID, latency, mark)
	}
	d.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// lockedBuffer serialises writes to a shared writer.
type lockedBuffer struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
