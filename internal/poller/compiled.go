package poller

import (
	"errors"
	"strconv"
	"sync"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/store"
)

// compiled is one resource's configuration in raw, an instance's
// poller configuration, compiled.
func compiled(raw, resource string) (*pollconfig.Compiled, error) {
	pc, err := pollconfig.Parse([]byte(raw), nil)
	if err != nil {
		return nil, err
	}
	r, ok := pc.Resources[resource]
	if !ok {
		return nil, errors.New("resource " + strconv.Quote(resource) + " is not in the poller configuration")
	}
	return r.Compile()
}

// compiledCache keeps compiled configurations by their text and resource:
// every run needs its resource's, and parsing the instance's whole
// configuration each time was an eighth of an idle poll's CPU. A
// Compiled is never changed once made, so runs share it. Most instances
// share a few configurations (the element's default); the cache is
// bounded all the same, and starts over when full.
type compiledCache struct {
	mu sync.Mutex
	m  map[compiledKey]*pollconfig.Compiled
}

type compiledKey struct{ raw, resource string }

// compiledCacheSize bounds the cache: distinct configurations × resources.
const compiledCacheSize = 4096

// of is the instance's configuration of resource, compiled.
func (c *compiledCache) of(inst *store.Instance, resource string) (*pollconfig.Compiled, error) {
	raw, _ := inst.ConfigValue(instance.KeyPollerConfig)
	return c.get(raw, resource)
}

// get is compiled(raw, resource), from the cache when it can be.
func (c *compiledCache) get(raw, resource string) (*pollconfig.Compiled, error) {
	k := compiledKey{raw, resource}
	c.mu.Lock()
	cc, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return cc, nil
	}
	cc, err := compiled(raw, resource)
	if err != nil {
		return nil, err // not kept: a configuration that fails is rare, and says why each time
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= compiledCacheSize {
		c.m = map[compiledKey]*pollconfig.Compiled{}
	}
	c.m[k] = cc
	c.mu.Unlock()
	return cc, nil
}
