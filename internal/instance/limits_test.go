package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/store"
)

// withConfig returns body (a creation body from setup) with its
// configuration changed by edit.
func withConfig(t *testing.T, body string, edit func(cfg map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	edit(b["configuration"].(map[string]any))
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resource is a valid poller configuration of one resource.
func resource() map[string]any {
	return map[string]any{"url": "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
		"idField": "CONTACT_ID", "datesConfiguration": map[string]any{"updatedDateField": "DATE_UPDATED_UTC",
			"updatedDateFormat": "yyyy-MM-dd HH:mm:ss"}}
}

// resources is a poller configuration of n resources.
func resources(n int) map[string]any {
	pc := map[string]any{}
	for i := range n {
		pc[fmt.Sprintf("contacts%03d", i)] = resource()
	}
	return pc
}

// refused checks that err is a 400 whose message has every fragment.
func refused(t *testing.T, err error, fragments ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Fatalf("got %v, want a 400", err)
	}
	for _, f := range fragments {
		if !strings.Contains(e.Message, f) {
			t.Errorf("message %q lacks %q", e.Message, f)
		}
	}
}

func TestRefreshIntervalBounded(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	ctx := context.Background()
	for _, v := range []string{"10081", "153722867280912931", "99999999999999999999999"} {
		_, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyRefreshInterval] = v }))
		refused(t, err, "configuration.event.poller.refresh_interval", "10080")
	}
	v, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyRefreshInterval] = "10080" }))
	if err != nil {
		t.Fatalf("a week: %v", err)
	}
	_, err = svc.Update(ctx, c, v.ID, []byte(`{"configuration":{"event.poller.refresh_interval":"153722867280912931"}}`), true)
	refused(t, err, "configuration.event.poller.refresh_interval", "10080")
}

func TestResourcesPerInstanceBounded(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	ctx := context.Background()
	_, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyPollerConfig] = resources(101) }))
	refused(t, err, "configuration.event.poller.configuration: has 101 resources; this server allows at most 100 per instance (--max-resources-per-instance)")
	// The JSON-string form counts the same.
	s, _ := json.Marshal(resources(101))
	_, err = svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyPollerConfig] = string(s) }))
	refused(t, err, "has 101 resources")
	v, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyPollerConfig] = resources(100) }))
	if err != nil {
		t.Fatalf("100 resources: %v", err)
	}
	more, _ := json.Marshal(map[string]any{"configuration": map[string]any{KeyPollerConfig: resources(150)}})
	_, err = svc.Update(ctx, c, v.ID, more, true)
	refused(t, err, "has 150 resources", "at most 100")
}

func TestConfigKeysBounded(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	ctx := context.Background()
	_, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) {
		for i := range 40000 {
			cfg[fmt.Sprintf("x.%05d", i)] = "v"
		}
	}))
	refused(t, err, "configuration: has 4000", "this server allows at most 200 per instance (--max-config-keys)")
	// setup's body has 4 keys; the signature key, refresh interval and
	// poller configuration pollhook adds count too.
	fill := func(n int) func(cfg map[string]any) {
		return func(cfg map[string]any) {
			for i := range n {
				cfg[fmt.Sprintf("x.%03d", i)] = "v"
			}
		}
	}
	_, err = svc.Create(ctx, c, "", withConfig(t, body, fill(196)))
	refused(t, err, "configuration: has 203 keys")
	v, err := svc.Create(ctx, c, "", withConfig(t, body, fill(193)))
	if err != nil {
		t.Fatalf("200 keys: %v", err)
	}
	if len(v.Configuration) != 200 {
		t.Errorf("%d keys stored", len(v.Configuration))
	}
	// A PATCH counts the merged configuration; removing keys makes room.
	_, err = svc.Update(ctx, c, v.ID, []byte(`{"configuration":{"y.1":"v"}}`), true)
	refused(t, err, "configuration: has 201 keys")
	if _, err := svc.Update(ctx, c, v.ID, []byte(`{"configuration":{"y.1":"v","x.000":null}}`), true); err != nil {
		t.Errorf("swapping a key: %v", err)
	}
}

func TestConfigValueSizeBounded(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	ctx := context.Background()
	_, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg["note"] = strings.Repeat("x", 64<<10+1) }))
	refused(t, err, "configuration.note: is 65537 bytes; at most 65536 (64 KiB)")
	if _, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg["note"] = strings.Repeat("x", 64<<10) })); err != nil {
		t.Errorf("64 KiB value: %v", err)
	}
	// The poller configuration may be larger, up to 256 KiB. Ignored Cloud
	// Elements keys (postHooks here) are kept, so they make it large.
	big := func(n int) map[string]any {
		r := resource()
		r["postHooks"] = strings.Repeat("x", n)
		return map[string]any{"contacts": r}
	}
	_, err = svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyPollerConfig] = big(256 << 10) }))
	refused(t, err, "configuration.event.poller.configuration: is 262", "at most 262144 (256 KiB)")
	if _, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyPollerConfig] = big(200 << 10) })); err != nil {
		t.Errorf("200 KiB poller configuration: %v", err)
	}
}

// A server's own limits replace the defaults.
func TestServerLimits(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	svc.Limits = Limits{MaxResourcesPerInstance: 2, MaxConfigKeys: 10, MaxInstancesPerOrg: 1}
	ctx := context.Background()
	_, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyPollerConfig] = resources(3) }))
	refused(t, err, "has 3 resources; this server allows at most 2 per instance")
	_, err = svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) {
		for i := range 4 {
			cfg[fmt.Sprint("x.", i)] = "v"
		}
	}))
	refused(t, err, "configuration: has 11 keys; this server allows at most 10 per instance")
	if _, err := svc.Create(ctx, c, "", withConfig(t, body, func(cfg map[string]any) { cfg[KeyPollerConfig] = resources(2) })); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Create(ctx, c, "", []byte(body))
	refused(t, err, "organization: is at its limit of instances: this server allows at most 1 per organization (--max-instances-per-org)")
	// Without the early check, the creating transaction still refuses.
	var e *Error
	err = svc.Store.InTx(ctx, func(tx *store.Tx) error { return svc.reserveInstance(ctx, tx, c.Org.ID) })
	if !errors.As(err, &e) || !strings.Contains(e.Message, "--max-instances-per-org") {
		t.Errorf("reserveInstance: %v", err)
	}
}

func TestConfigKeyNameBounded(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	_, err := svc.Create(context.Background(), c, "", withConfig(t, body, func(cfg map[string]any) { cfg[strings.Repeat("k", 257)] = "v" }))
	refused(t, err, "is 257 bytes long; at most 256")
}
