package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// target is how one instance's notifications are sent.
type target struct {
	key     string // event.notification.signature.key
	headers http.Header
}

// targets reads, once per delivery run, how each instance's
// notifications are signed and which extra headers they carry.
type targets struct {
	store     *store.Store
	instances *instance.Service
	cache     map[int64]*target
}

func (ts *targets) get(ctx context.Context, instanceID int64) (*target, error) {
	if t, ok := ts.cache[instanceID]; ok {
		return t, nil
	}
	inst, err := ts.store.InstanceByID(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	cfg, err := ts.instances.Config(inst)
	if err != nil {
		return nil, err
	}
	t := &target{key: cfg[instance.KeySignatureKey], headers: http.Header{}}
	for k, v := range parseHeaders(cfg[instance.KeyCallbackHeaders]) {
		t.headers.Set(k, v)
	}
	if u := cfg[instance.KeyBasicUsername]; u != "" {
		req := http.Request{Header: t.headers}
		req.SetBasicAuth(u, cfg[instance.KeyBasicPassword])
	}
	if ts.cache == nil {
		ts.cache = map[int64]*target{}
	}
	ts.cache[instanceID] = t
	return t, nil
}

// parseHeaders reads event.notification.callback.headers: a JSON object,
// or "Name: value" pairs separated by newlines or semicolons.
func parseHeaders(s string) map[string]string {
	out := map[string]string{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out
	}
	if strings.HasPrefix(s, "{") {
		json.Unmarshal([]byte(s), &out)
		return out
	}
	for part := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == '\n' || r == ';' }) {
		if k, v, ok := strings.Cut(part, ":"); ok && strings.TrimSpace(k) != "" {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}
