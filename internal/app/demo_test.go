package app

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// The README's first command works: notifications arrive, signed.
func TestDemoCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan int, 1)
	var stderr lockedWriter
	go func() {
		done <- Run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--interval", "1s", "--churn", "30", "--records", "10"}, w, &stderr)
		w.Close()
	}()
	sc := bufio.NewScanner(out)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	sawAPI, sawConsole, sawEvent := false, false, false
	timeout := time.After(60 * time.Second)
	for !sawEvent {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the demo stopped: %s", stderr.String())
			}
			if strings.Contains(l, "API ") && strings.Contains(l, "/elements/api-v2") {
				sawAPI = true
			}
			if strings.Contains(l, "Console ") && strings.Contains(l, "http://127.0.0.1:") &&
				strings.Contains(l, "admin@pollhook.local with the password ") {
				sawConsole = true
			}
			if strings.Contains(l, "signature ok") {
				sawEvent = true
			}
			if strings.Contains(l, "MISMATCH") {
				t.Fatalf("a signature did not verify: %s", l)
			}
		case <-timeout:
			t.Fatalf("no notification within 60 s; stderr: %s", stderr.String())
		}
	}
	if !sawAPI {
		t.Error("the demo did not print the API URL")
	}
	if !sawConsole {
		t.Error("the demo did not print the console's URL and sign-in")
	}
	cancel()
	go func() {
		for range lines {
		}
	}()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop")
	}
}
