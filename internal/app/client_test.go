package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// The client commands, run as a user would, against a real server: create
// an instance from a file, see it and its polls, read the event a change
// made, replay its notification and watch it delivered, delete it. The
// secrets come from flags, the environment or the credentials file.
func TestClientCommands(t *testing.T) {
	clock := sim.NewManualClock(time.Now())
	h := newHarness(t, withClock(clock.Now))
	hook := newHookServer(t, func() int { return 200 })
	ctx := context.Background()
	server := strings.TrimSuffix(h.base, "/elements/api-v2")
	secrets := []string{"--server", server, "--user-secret", h.creds.User, "--organization-secret", h.creds.Organization}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr lockedWriter
		full := append(append(append([]string{}, args[:2]...), secrets...), args[2:]...)
		code := Run(ctx, full, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(args...)
		if code != 0 {
			t.Fatalf("pollhook %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}

	body, _ := json.Marshal(h.instanceBody("From the CLI", map[string]any{"event.poller.refresh_interval": "1",
		"event.notification.callback.url": hook.srv.URL + "/hook"}))
	file := filepath.Join(t.TempDir(), "body.json")
	os.WriteFile(file, body, 0o600)
	out := mustRun("instances", "create", "-f", file)
	m := regexp.MustCompile(`created instance (\d+) "From the CLI" \(active\)\ntoken: \S+`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed %q", out)
	}
	id := m[1]

	// The credentials file alone, then the environment alone, are enough.
	var stdout, stderr lockedWriter
	if code := Run(ctx, []string{"instances", "list", "--server", server, "--credentials", h.srv.credentials}, &stdout, &stderr); code != 0 ||
		!regexp.MustCompile(`(?m)^`+id+`\s+From the CLI\s+insightly\s+active\s+on\s`).MatchString(stdout.String()) {
		t.Errorf("list with the credentials file: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	t.Setenv("POLLHOOK_SERVER", server)
	t.Setenv("POLLHOOK_USER_SECRET", h.creds.User)
	t.Setenv("POLLHOOK_ORGANIZATION_SECRET", h.creds.Organization)
	stdout, stderr = lockedWriter{}, lockedWriter{}
	if code := Run(ctx, []string{"instances", "list", "--json", "--credentials", "/nonexistent"}, &stdout, &stderr); code != 0 || !json.Valid([]byte(stdout.String())) {
		t.Errorf("list --json with the environment: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}

	// show: the instance and its four polls, once they have run.
	eventually(t, "the first runs", func() bool {
		polls, _ := h.srv.store.PollsOf(ctx, mustAtoi(t, id))
		return len(polls) == 4 && polls[0].Runs > 0 && polls[1].Runs > 0 && polls[2].Runs > 0 && polls[3].Runs > 0
	})
	out = mustRun("instances", "show", id)
	for _, want := range []string{`instance ` + id + ` "From the CLI", insightly, active, events on`, "RESOURCE", "contacts", "accounts", "leads", "opportunities"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	// A change becomes an event, listed with the notification carrying it.
	inst := instanceJSON{}
	json.Unmarshal([]byte(mustRun("instances", "show", id, "--json")), &struct{ Instance *instanceJSON }{&inst})
	resp, created := h.call("POST", "/hubs/crm/contacts", h.hub(inst.Token), map[string]any{"LAST_NAME": "Clied"})
	want(t, resp, created, 200, "")
	var contact struct {
		ID int64 `json:"CONTACT_ID"`
	}
	json.Unmarshal(created, &contact)
	clock.Advance(61 * time.Second)
	eventually(t, "the webhook", func() bool { h.srv.jobs.WakeAll(ctx); return hook.count() == 1 })
	out = mustRun("events", "list", "--instance", id)
	row := regexp.MustCompile(`(?m)^([0-9a-f]{24})\s+\S+\s+CREATED\s+contacts\s+` + jsonNumber(contact.ID) + `\s+` + id + `\s+(\S+)$`).FindStringSubmatch(out)
	if row == nil || row[2] == "-" {
		t.Fatalf("events list:\n%s", out)
	}
	eventID, notificationID := row[1], row[2]
	var shown struct {
		Event        struct{ ID, NotificationID string }
		Notification struct{ ID, Status string }
		Attempts     []struct{ StatusCode int }
	}
	// The receiver has answered; the attempt is recorded just after.
	eventually(t, "the recorded delivery", func() bool {
		json.Unmarshal([]byte(mustRun("events", "show", eventID)), &shown)
		return shown.Notification.Status == "delivered"
	})
	if err := json.Unmarshal([]byte(mustRun("events", "show", eventID)), &shown); err != nil ||
		shown.Event.ID != eventID || shown.Notification.ID != notificationID || shown.Notification.Status != "delivered" ||
		len(shown.Attempts) != 1 || shown.Attempts[0].StatusCode != 200 {
		t.Errorf("events show: %+v %v", shown, err)
	}

	// Replay by event id, waiting for the delivery; then everything since
	// an hour ago. Each sends the same notification again.
	code, out, errOut := run("events", "replay", eventID, "--wait", "30s")
	if code != 0 || !strings.Contains(out, "replayed 1 notifications (1 events)") || !strings.Contains(out, "all 1 delivered") ||
		!strings.Contains(errOut, "delivered 1 of 1") {
		t.Errorf("replay: exit %d\n%s%s", code, out, errOut)
	}
	if hook.count() != 2 {
		t.Errorf("the receiver got %d notifications, want 2", hook.count())
	}
	// --since filters on the server: the event is there since an hour
	// ago, not since a minute from now.
	if out := mustRun("events", "list", "--since", "1h", "--instance", id); !strings.Contains(out, eventID) {
		t.Errorf("events list --since 1h:\n%s", out)
	}
	if out := mustRun("events", "list", "--since", time.Now().Add(time.Minute).UTC().Format(time.RFC3339)); strings.Contains(out, eventID) {
		t.Errorf("events list --since a minute from now:\n%s", out)
	}
	if out := mustRun("events", "replay", "--since", "1h", "--instance", id, "--wait", "30s"); !strings.Contains(out, "replayed 1 notifications") ||
		!strings.Contains(out, "all 1 delivered") {
		t.Errorf("replay --since:\n%s", out)
	}
	eventually(t, "the second replay", func() bool { return hook.count() == 3 })
	hook.mu.Lock()
	for i, head := range hook.heads {
		if got := head.Get("Elements-Webhook-Id"); got != notificationID {
			t.Errorf("delivery %d carries id %s, want %s", i, got, notificationID)
		}
	}
	hook.mu.Unlock()

	// Refusals name the problem.
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"instances", "show", "99999"}, 1, "404 Not Found: no such instance"},
		{[]string{"instances", "show", "seven"}, 2, `"seven" is not an instance id`},
		{[]string{"instances", "create"}, 2, "-f body.json"},
		{[]string{"events", "replay"}, 2, "give event ids"},
		{[]string{"events", "list", "--since", "yesterday"}, 1, "--since"},
		{[]string{"events", "show", "nope"}, 1, "no such event"},
		{[]string{"instances", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"instances", "list", "--server", "http://127.0.0.1:1"}, 1, "cannot reach the pollhook server"},
		{[]string{"instances", "list", "--user-secret", "wrong"}, 1, "401 Unauthorized"},
	} {
		code, out, errOut := run(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, out, errOut, tc.code, tc.msg)
		}
	}

	out = mustRun("instances", "delete", id)
	if out != "deleted instance "+id+"\n" || strings.Contains(mustRun("instances", "list"), "From the CLI") {
		t.Errorf("delete: %q", out)
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

func mustAtoi(t *testing.T, s string) int64 {
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
