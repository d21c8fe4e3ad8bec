package app

import (
	"flag"
	"fmt"

	"github.com/pollhook/pollhook/internal/instance"
)

// limitFlags are the flags of the instance limits.
func (c *serverConfig) limitFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.MaxResourcesPerInstance, "max-resources-per-instance", c.envInt("POLLHOOK_MAX_RESOURCES_PER_INSTANCE", "max-resources-per-instance", instance.MaxResourcesDefault),
		"most resources one instance may poll (in event.poller.configuration) ($POLLHOOK_MAX_RESOURCES_PER_INSTANCE)")
	fs.IntVar(&c.MaxConfigKeys, "max-config-keys", c.envInt("POLLHOOK_MAX_CONFIG_KEYS", "max-config-keys", instance.MaxConfigKeysDefault),
		"most configuration keys one instance may have ($POLLHOOK_MAX_CONFIG_KEYS)")
	fs.IntVar(&c.MaxInstancesPerOrg, "max-instances-per-org", c.envInt("POLLHOOK_MAX_INSTANCES_PER_ORG", "max-instances-per-org", 0),
		"most instances one organization may have; 0 for no limit ($POLLHOOK_MAX_INSTANCES_PER_ORG)")
}

// limits are the instance limits the flags set. Zero means the default
// (no limit, for instances per organization).
func (c *serverConfig) limits() (instance.Limits, error) {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"--max-resources-per-instance", c.MaxResourcesPerInstance},
		{"--max-config-keys", c.MaxConfigKeys},
		{"--max-instances-per-org", c.MaxInstancesPerOrg},
	} {
		if f.v < 0 {
			return instance.Limits{}, fmt.Errorf("%s must not be negative, not %d", f.name, f.v)
		}
	}
	return instance.Limits{MaxResourcesPerInstance: c.MaxResourcesPerInstance, MaxConfigKeys: c.MaxConfigKeys,
		MaxInstancesPerOrg: c.MaxInstancesPerOrg}, nil
}
