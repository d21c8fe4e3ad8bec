package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/seal"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// recorder is a Scheduler that records what it was told, and can fail.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (r *recorder) note(what string, tx *store.Tx) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tx == nil || tx.SQL() == nil {
		return errors.New("not called in a transaction")
	}
	r.calls = append(r.calls, what)
	return r.fail
}

func (r *recorder) InstanceSaved(_ context.Context, tx *store.Tx, in *store.Instance) error {
	what := "saved"
	if in.Disabled {
		what = "saved-disabled"
	}
	return r.note(what, tx)
}

func (r *recorder) InstanceDeleted(_ context.Context, tx *store.Tx, _ *store.Instance) error {
	return r.note("deleted", tx)
}

func setup(t *testing.T) (*Service, Caller, *recorder, string, string) {
	t.Helper()
	s := sim.New(sim.Config{Records: 5, RateLimit: -1})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	org := &store.Organization{Name: "o", SecretHash: auth.Hash("o")}
	st.CreateOrganization(ctx, org)
	u := &store.User{OrgID: org.ID, Email: "u@x", SecretHash: auth.Hash("u")}
	st.CreateUser(ctx, u)
	spec := seal.NewKey("k1")
	keys, _ := seal.Parse(spec)
	rec := &recorder{}
	svc := &Service{Store: st, Keys: keys, Scheduler: rec, AllowPrivateCallbacks: true,
		Elements: element.NewRegistry(insightly.NewElement(insightly.Options{Upstreams: insightly.Upstreams{Allow: netguard.AllowList{{Host: "127.0.0.1"}}}, Limits: insightly.NewLimits(1000, 4)}))}
	body, _ := json.Marshal(map[string]any{"element": map[string]any{"key": "insightly"}, "name": "I",
		"configuration": map[string]any{"password": s.APIKey(), "base.url": srv.URL + "/v3.1",
			"event.notification.enabled": true, "event.notification.callback.url": "http://127.0.0.1:1/hook"}})
	return svc, Caller{Org: org, User: u}, rec, string(body), spec
}

// Every change reaches the scheduler inside its transaction, and a
// scheduler that fails undoes the change.
func TestSchedulerSeesEveryChangeInItsTransaction(t *testing.T) {
	t.Parallel()
	svc, c, rec, body, _ := setup(t)
	ctx := context.Background()
	v, err := svc.Create(ctx, c, "", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, c, v.ID, []byte(`{"configuration":{"event.poller.refresh_interval":"3"}}`), true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetEnabled(ctx, c, v.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, c, v.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{"saved", "saved", "saved-disabled", "deleted"}
	if len(rec.calls) != len(want) {
		t.Fatalf("calls %v, want %v", rec.calls, want)
	}
	for i := range want {
		if rec.calls[i] != want[i] {
			t.Errorf("call %d = %s, want %s", i, rec.calls[i], want[i])
		}
	}

	rec.fail = errors.New("scheduler down")
	if _, err := svc.Create(ctx, c, "", []byte(body)); err == nil {
		t.Fatal("create succeeded although scheduling failed")
	}
	if list, _ := svc.List(ctx, c, store.InstanceFilter{}); len(list) != 0 {
		t.Errorf("a create whose scheduling failed left %d instances", len(list))
	}
}

// Secrets are sealed at rest and masked in every view.
func TestSecretsSealedAndMasked(t *testing.T) {
	t.Parallel()
	svc, c, _, body, spec := setup(t)
	ctx := context.Background()
	v, err := svc.Create(ctx, c, "", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := svc.Store.Instance(ctx, c.Org.ID, v.ID)
	plain, _ := svc.Config(in)
	for _, it := range in.Config {
		secret := it.Key == "password" || it.Key == KeySignatureKey
		if secret != it.Secret {
			t.Errorf("%s: secret=%v", it.Key, it.Secret)
		}
		if it.Secret && it.Value == plain[it.Key] {
			t.Errorf("%s stored in clear", it.Key)
		}
		if it.Secret && v.Configuration[it.Key] != Mask {
			t.Errorf("%s not masked: %q", it.Key, v.Configuration[it.Key])
		}
	}
	if plain["password"] == "" || plain[KeySignatureKey] == "" {
		t.Errorf("secrets do not open: %v", plain)
	}
	// Rotating keys: a ring with a new current key still opens everything.
	ring, _ := seal.Parse(seal.NewKey("k2") + "," + spec)
	svc.Keys = ring
	if _, err := svc.Get(ctx, c, v.ID); err != nil {
		t.Errorf("after adding a key: %v", err)
	}
	if _, _, err := svc.Hub(ctx, c.Org.ID, v.Token); err != nil {
		t.Errorf("hub after rotation: %v", err)
	}
	// Without the old key, the hub says so instead of failing obscurely.
	svc.Keys, _ = seal.Parse(seal.NewKey("k3"))
	_, _, err = svc.Hub(ctx, c.Org.ID, v.Token)
	if element.StatusOf(err) != http.StatusInternalServerError {
		t.Errorf("hub without the key: %v", err)
	}
}

// Listing an organization's instances reads them, their configurations
// and their users in a fixed number of statements, whatever their number
// (it was three per instance), and each instance keeps its own
// configuration.
func TestListReadsInAFewStatements(t *testing.T) {
	t.Parallel()
	svc, c, _, _, _ := setup(t)
	ctx := context.Background()
	other := &store.Organization{Name: "other", SecretHash: auth.Hash("other")}
	svc.Store.CreateOrganization(ctx, other)
	ou := &store.User{OrgID: other.ID, Email: "o@x", SecretHash: auth.Hash("ou")}
	svc.Store.CreateUser(ctx, ou)
	mk := func(org *store.Organization, u *store.User, name string) {
		t.Helper()
		in := &store.Instance{OrgID: org.ID, UserID: u.ID, ElementKey: "insightly", Name: name, TokenHash: auth.Hash(name),
			TokenSealed: svc.Keys.Seal(name, tokenContext), Valid: true,
			Config: []store.ConfigItem{{Key: "username", Value: name + "@x"}, {Key: KeyCallbackURL, Value: "https://example.com/" + name}}}
		if err := svc.Store.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	count := func(n int) int64 {
		t.Helper()
		before := svc.Store.Counts().Statements
		list, err := svc.List(ctx, c, store.InstanceFilter{})
		if err != nil || len(list) != n {
			t.Fatalf("List: %d instances, %v; want %d", len(list), err, n)
		}
		for _, v := range list {
			if v.Configuration["username"] != v.Name+"@x" || v.Configuration[KeyCallbackURL] != "https://example.com/"+v.Name {
				t.Errorf("%s has another's configuration: %v", v.Name, v.Configuration)
			}
		}
		return svc.Store.Counts().Statements - before
	}
	mk(other, ou, "theirs")
	for i := range 3 {
		mk(c.Org, c.User, fmt.Sprint("a", i))
	}
	few := count(3)
	for i := range 30 {
		mk(c.Org, c.User, fmt.Sprint("b", i))
	}
	if many := count(33); many != few || many > 4 {
		t.Errorf("listing 3 instances took %d statements, 33 took %d: want the same few", few, many)
	}
}
