package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/store"
)

// Bounds on what one instance may hold. The first two are defaults that a
// server changes with `pollhook serve` flags (Limits); the others are
// fixed. docs/configuration.md and docs/api.md quote them.
const (
	// MaxResourcesDefault bounds the resources of event.poller.configuration.
	MaxResourcesDefault = 100
	// MaxConfigKeysDefault bounds the configuration keys of an instance,
	// counting those pollhook adds (a generated signature key, the default
	// refresh interval and poller configuration).
	MaxConfigKeysDefault = 200
	// MaxRefreshInterval bounds event.poller.refresh_interval: one week,
	// in minutes.
	MaxRefreshInterval = 7 * 24 * 60
	// MaxConfigValueBytes bounds each configuration value (64 KiB) but
	// event.poller.configuration, which pollconfig.MaxBytes bounds.
	MaxConfigValueBytes = 64 << 10
	// MaxConfigKeyBytes bounds the name of a configuration key.
	MaxConfigKeyBytes = 256
)

// Limits are the bounds a server sets (flags of `pollhook serve`).
type Limits struct {
	// MaxResourcesPerInstance bounds the resources an instance polls;
	// zero means MaxResourcesDefault.
	MaxResourcesPerInstance int
	// MaxConfigKeys bounds the configuration keys of an instance; zero
	// means MaxConfigKeysDefault.
	MaxConfigKeys int
	// MaxInstancesPerOrg bounds the instances of an organization; zero
	// means no limit (benchmarks and bulk imports create many).
	MaxInstancesPerOrg int
}

func (l Limits) maxResources() int {
	if l.MaxResourcesPerInstance > 0 {
		return l.MaxResourcesPerInstance
	}
	return MaxResourcesDefault
}

func (l Limits) maxConfigKeys() int {
	if l.MaxConfigKeys > 0 {
		return l.MaxConfigKeys
	}
	return MaxConfigKeysDefault
}

// checkSizes is the first check of a configuration: cheap bounds on its
// size, before anything parses it or asks the network about it.
func (s *Service) checkSizes(cfg map[string]string) error {
	if err := s.checkKeyCount(cfg); err != nil {
		return err
	}
	var p problems
	for _, k := range sortedKeys(cfg) {
		if len(k) > MaxConfigKeyBytes {
			p.add(invalid("configuration", "key %q… is %d bytes long; at most %d", k[:40], len(k), MaxConfigKeyBytes))
			continue
		}
		max := MaxConfigValueBytes
		if k == KeyPollerConfig {
			max = pollconfig.MaxBytes
		}
		if n := len(cfg[k]); n > max {
			p.add(invalid("configuration."+k, "is %d bytes; at most %d (%d KiB)", n, max, max>>10))
		}
	}
	if v, ok := cfg[KeyPollerConfig]; ok && len(v) <= pollconfig.MaxBytes {
		// A configuration Count cannot read is reported by the full parse.
		if n, err := pollconfig.Count(json.RawMessage(v)); err == nil && n > s.maxResources() {
			p.add(invalid("configuration."+KeyPollerConfig, "has %d resources; this server allows at most %d per instance (--max-resources-per-instance)",
				n, s.maxResources()))
		}
	}
	return p.err()
}

// checkKeyCount bounds the number of configuration keys: first as sent,
// then as stored, with the keys pollhook added.
func (s *Service) checkKeyCount(cfg map[string]string) error {
	if n := len(cfg); n > s.maxConfigKeys() {
		return invalid("configuration", "has %d keys; this server allows at most %d per instance (--max-config-keys)", n, s.maxConfigKeys())
	}
	return nil
}

// refreshInterval reads event.poller.refresh_interval: whole minutes from
// 1 to MaxRefreshInterval.
func refreshInterval(v string) (int, error) {
	field := "configuration." + KeyRefreshInterval
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case errors.Is(err, strconv.ErrRange) && n > 0, err == nil && n > MaxRefreshInterval:
		return 0, invalid(field, "must be at most %d minutes (one week), not %s", MaxRefreshInterval, v)
	case err != nil || n < 1:
		return 0, invalid(field, "must be a whole number of minutes, at least 1, not %q", v)
	}
	return n, nil
}

// PollInterval is how often an instance polls: its stored
// event.poller.refresh_interval (RefreshIntervalDefault when absent or
// unreadable) times unit. A stored value above MaxRefreshInterval, saved
// before the bound existed, counts as the bound, and the product
// saturates instead of overflowing (minutes × time.Minute once wrapped
// around to 52 seconds).
func PollInterval(in *store.Instance, unit time.Duration) time.Duration {
	minutes := int64(RefreshIntervalDefault)
	if v, ok := in.ConfigValue(KeyRefreshInterval); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch {
		case err == nil && n > 0:
			minutes = min(n, MaxRefreshInterval)
		case errors.Is(err, strconv.ErrRange) && n > 0:
			minutes = MaxRefreshInterval
		}
	}
	if unit > 0 && minutes > int64(math.MaxInt64/unit) {
		return math.MaxInt64
	}
	return time.Duration(minutes) * unit
}

// checkInstanceCount refuses a new instance when the organization has its
// limit. Inside a transaction that locked the organization the answer
// holds until the commit; outside, it is an early answer that spares the
// checks with the upstream.
func (s *Service) checkInstanceCount(ctx context.Context, q interface {
	CountInstances(context.Context, int64) (int, error)
}, orgID int64) error {
	max := s.MaxInstancesPerOrg
	if max <= 0 {
		return nil
	}
	n, err := q.CountInstances(ctx, orgID)
	if err != nil {
		return err
	}
	if n >= max {
		// Not a field of the request: no Fields, and nothing else is checked.
		return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf("organization: is at its limit of instances: this server allows at most %d per organization (--max-instances-per-org)", max)}
	}
	return nil
}

// reserveInstance is checkInstanceCount in the creating transaction, with
// the organization locked so that concurrent creates cannot both take the
// last place.
func (s *Service) reserveInstance(ctx context.Context, tx *store.Tx, orgID int64) error {
	if s.MaxInstancesPerOrg <= 0 {
		return nil
	}
	if err := tx.LockOrganization(ctx, orgID); err != nil {
		return err
	}
	return s.checkInstanceCount(ctx, tx, orgID)
}
