package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/testdb"
)

// withFlags applies `pollhook serve` flags on top of the harness's
// configuration: only the flags given change anything.
func withFlags(t testing.TB, args ...string) harnessOpt {
	return func(c *serverConfig) {
		fs := flag.NewFlagSet("pollhook serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		keep := *c
		c.flags(fs) // binds the flags to c, and sets every default…
		*c = keep   // …which the harness's settings replace again.
		if err := fs.Parse(args); err != nil {
			t.Fatalf("serve flags %q: %v", args, err)
		}
	}
}

// The limits of a server are set by its flags, and refusals name the
// flag to change.
func TestServeLimitFlags(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withFlags(t, "--max-instances-per-org=2", "--max-resources-per-instance=3", "--max-config-keys=20"))
	poller := func(n int) map[string]any {
		pc := map[string]any{}
		for i := range n {
			pc[fmt.Sprintf("contacts%d", i)] = map[string]any{
				"url":     "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
				"idField": "CONTACT_ID", "datesConfiguration": map[string]any{"updatedDateField": "DATE_UPDATED_UTC",
					"updatedDateFormat": "yyyy-MM-dd HH:mm:ss"}}
		}
		return map[string]any{"event.poller.configuration": pc}
	}
	resp, out := h.call("POST", "/instances", h.platform(), h.instanceBody("Four", poller(4)))
	want(t, resp, out, 400, "configuration.event.poller.configuration: has 4 resources; this server allows at most 3 per instance (--max-resources-per-instance)")
	keys := map[string]any{}
	for i := range 15 { // and the body's 6
		keys[fmt.Sprintf("x.%d", i)] = "v"
	}
	resp, out = h.call("POST", "/instances", h.platform(), h.instanceBody("Many keys", keys))
	want(t, resp, out, 400, "configuration: has 21 keys; this server allows at most 20 per instance (--max-config-keys)")
	resp, out = h.call("POST", "/instances", h.platform(), h.instanceBody("Long interval", map[string]any{"event.poller.refresh_interval": "153722867280912931"}))
	want(t, resp, out, 400, "configuration.event.poller.refresh_interval")

	h.create(h.instanceBody("One", poller(3)))
	h.create(h.instanceBody("Two", nil))
	resp, out = h.call("POST", "/instances", h.platform(), h.instanceBody("Three", nil))
	want(t, resp, out, 400, "organization: is at its limit of instances: this server allows at most 2 per organization (--max-instances-per-org)")
	// The limit is per organization.
	eve := h.otherTenant()
	resp, out = h.call("POST", "/instances", eve.header(), h.instanceBody("Eve's", nil))
	want(t, resp, out, 200, "")
	if n := h.countInstances(); n != 2 {
		t.Errorf("%d instances, want 2", n)
	}
}

// Concurrent creates cannot both take the last place, on either database.
func TestInstancesPerOrgUnderConcurrency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withFlags(t, "--max-instances-per-org=3"))
	testInstancesPerOrgUnderConcurrency(t, h)
}

func TestInstancesPerOrgUnderConcurrencyPostgres(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withDatabase(testdb.FreshSchema(t, testdb.PostgresURL(t))),
		func(c *serverConfig) { c.EncryptionKey = seal.NewKey("k1") }, withFlags(t, "--max-instances-per-org=3"))
	testInstancesPerOrgUnderConcurrency(t, h)
}

func testInstancesPerOrgUnderConcurrency(t *testing.T, h *harness) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 8 {
		wg.Go(func() {
			resp, out := h.call("POST", "/instances", h.platform(), h.instanceBody(fmt.Sprint("I", i), nil))
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode != http.StatusOK && !strings.Contains(string(out), "--max-instances-per-org") {
				t.Errorf("%d %s", resp.StatusCode, out)
			}
		})
	}
	wg.Wait()
	if codes[200] != 3 || codes[400] != 5 || h.countInstances() != 3 {
		t.Errorf("answers %v, %d instances; want 3 created and 5 refused", codes, h.countInstances())
	}
}

// The limits' environment variables set the flags' defaults.
func TestServeLimitEnvironment(t *testing.T) {
	t.Setenv("POLLHOOK_MAX_RESOURCES_PER_INSTANCE", "7")
	t.Setenv("POLLHOOK_MAX_CONFIG_KEYS", "30")
	t.Setenv("POLLHOOK_MAX_INSTANCES_PER_ORG", "5")
	var c serverConfig
	c.flags(flag.NewFlagSet("pollhook serve", flag.ContinueOnError))
	if l, err := c.limits(); err != nil || l != (instance.Limits{MaxResourcesPerInstance: 7, MaxConfigKeys: 30, MaxInstancesPerOrg: 5}) {
		t.Errorf("limits %+v, %v", l, err)
	}
}

func TestServeLimitDefaults(t *testing.T) {
	t.Parallel()
	var c serverConfig
	fs := flag.NewFlagSet("pollhook serve", flag.ContinueOnError)
	c.flags(fs)
	for name, want := range map[string]string{"max-resources-per-instance": "100", "max-config-keys": "200", "max-instances-per-org": "0"} {
		if os.Getenv("POLLHOOK_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))) != "" {
			t.Skip("a limit is set in the environment")
		}
		if got := fs.Lookup(name).DefValue; got != want {
			t.Errorf("--%s defaults to %s, want %s", name, got, want)
		}
	}
}

func TestServeRefusesNegativeLimits(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"--max-resources-per-instance", "--max-config-keys", "--max-instances-per-org"} {
		var stderr strings.Builder
		code := Run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), name + "=-1"}, io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), name+" must not be negative") {
			t.Errorf("%s=-1: exit %d, stderr %q", name, code, stderr.String())
		}
	}
}
