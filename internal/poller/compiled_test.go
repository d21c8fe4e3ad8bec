package poller

import (
	"strconv"
	"testing"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// Runs of one configuration share its compiled form; a changed
// configuration is compiled again; the cache stays bounded.
func TestCompiledCache(t *testing.T) {
	t.Parallel()
	with := func(raw string) *store.Instance {
		return &store.Instance{Config: []store.ConfigItem{{Key: instance.KeyPollerConfig, Value: raw}}}
	}
	config := func(idField string, pageSize int) string {
		return `{"contacts": {"url": "/hubs/crm/contacts?where=lastModifiedDate>='${date}'", "idField": "` + idField +
			`", "pageSize": ` + strconv.Itoa(pageSize) + `, "datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss"}}}`
	}
	a, b := config("id", 100), config("CONTACT_ID", 100)
	var c compiledCache
	first, err := c.of(with(a), "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.of(with(a), "contacts"); again != first {
		t.Error("the same configuration was compiled twice")
	}
	if other, _ := c.of(with(b), "contacts"); other == first || other.Config.IDField != "CONTACT_ID" {
		t.Errorf("a changed configuration gave %+v", other.Config)
	}
	if _, err := c.of(with(a), "leads"); err == nil {
		t.Error("a resource the configuration lacks compiled")
	}
	for i := range compiledCacheSize + 5 {
		if _, err := c.of(with(config("id", i+1)), "contacts"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.m); n > compiledCacheSize {
		t.Errorf("the cache holds %d configurations, more than %d", n, compiledCacheSize)
	}
}
