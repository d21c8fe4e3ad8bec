package pollconfig

import (
	"strings"
	"testing"
	"time"
)

// A resource configuration without url is merged over the element's
// default for it; with a url it is taken as given.
func TestPartialResourceMergesOverDefault(t *testing.T) {
	t.Parallel()
	defaults := []byte(`{"contacts": {"url": "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'",
		"idField": "CONTACT_ID", "datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss",
		"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}, "pageSize": 500}}`)
	pc, err := Parse([]byte(`{"contacts": {"deletes": {"scanEveryMinutes": 30}, "pageSize": 50}}`), defaults)
	if err != nil {
		t.Fatal(err)
	}
	r := pc.Resources["contacts"]
	c, err := r.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.IDField != "CONTACT_ID" || c.Config.PageSize != 50 || !c.Config.Deletes.Enabled || c.Config.Deletes.Interval != 30*time.Minute ||
		c.CreatedFormat == nil {
		t.Errorf("merged: %+v", c.Config)
	}
	// The new keys merge too, and snapshots turns delete detection on.
	pc, err = Parse([]byte(`{"contacts": {"snapshots": true, "ignoreFields": ["DATE_UPDATED_UTC"], "filter": "A = 1"}}`), defaults)
	if err != nil {
		t.Fatal(err)
	}
	if r := pc.Resources["contacts"]; !r.Snapshots || !r.Deletes.Enabled || r.Deletes.Interval != DefaultDeleteInterval ||
		len(r.IgnoreFields) != 1 || r.Filter != "A = 1" || r.IDField != "CONTACT_ID" {
		t.Errorf("merged with snapshots: %+v", r)
	}
	// With a url: no merging; the missing idField is an error as before.
	_, err = Parse([]byte(`{"contacts": {"url": "/hubs/crm/contacts", "deletes": {"scanEveryMinutes": 30}}}`), defaults)
	if err == nil || !strings.Contains(err.Error(), "contacts") {
		t.Errorf("a url without the rest: %v", err)
	}
	// No default for the resource: the url is required, as before.
	if _, err := Parse([]byte(`{"Tasks": {"pageSize": 50}}`), defaults); err == nil || !strings.Contains(err.Error(), "url") {
		t.Errorf("no default: %v", err)
	}
	// A bad value in a partial configuration names its field.
	if _, err := Parse([]byte(`{"contacts": {"pageSize": "many"}}`), defaults); err == nil || !strings.Contains(err.Error(), "contacts.pageSize") {
		t.Errorf("bad partial value: %v", err)
	}
}
