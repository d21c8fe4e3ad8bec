package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
)

// ReceiverConfig says where `pollhook bench receiver` listens and writes.
type ReceiverConfig struct {
	Addr string // host:port; port 0 picks a free one
	Out  string // the file every notification is appended to
	Key  string // event.notification.signature.key of the instances
}

// receipt is one line of a receiver's file: one POST as it arrived.
type receipt struct {
	ID        string          `json:"id"` // Elements-Webhook-Id
	At        time.Time       `json:"at"`
	Signature bool            `json:"signature"` // Elements-Webhook-Signature verified
	Body      json.RawMessage `json:"body"`
}

// soakReceiver answers callbacks and appends each to a file, so that a
// soak can read what arrived across the receiver's own restarts. Told to
// (POST /_receiver/fail?for=20s), it answers 503 for a while instead.
type soakReceiver struct {
	key       string
	mu        sync.Mutex
	out       *os.File
	failUntil time.Time
}

// Receive runs the soak's receiver until ctx ends. It prints "receiver
// listening on http://host:port" once it listens.
func Receive(ctx context.Context, cfg ReceiverConfig, stdout io.Writer) error {
	f, err := os.OpenFile(cfg.Out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	rc := &soakReceiver{key: cfg.Key, out: f}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_receiver/fail", rc.fail)
	mux.Handle("/", rc)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "receiver listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// fail makes the receiver answer 503 for the duration in ?for=.
func (rc *soakReceiver) fail(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("for"))
	if err != nil {
		http.Error(w, "for: a duration, like 20s", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.failUntil = time.Now().Add(d)
	rc.mu.Unlock()
}

// ServeHTTP writes the notification's line before it answers 200: once
// pollhook sees the 200, the line is in the file. One write(2) per line,
// so the kernel has it even if the receiver is killed the next moment
// (no fsync: the machine is not expected to crash under a soak).
func (rc *soakReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "unreadable", http.StatusBadRequest)
		return
	}
	now := time.Now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if now.Before(rc.failUntil) {
		http.Error(w, "failing on purpose", http.StatusServiceUnavailable)
		return
	}
	if !json.Valid(body) {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	line, _ := json.Marshal(receipt{ID: r.Header.Get("Elements-Webhook-Id"), At: now,
		Signature: r.Header.Get("Elements-Webhook-Signature") == delivery.ElementsSignature(rc.key, body), Body: body})
	if _, err := rc.out.Write(append(line, '\n')); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}
