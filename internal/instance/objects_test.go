package instance

import (
	"context"
	"strings"
	"testing"
)

// `{}` takes a default for any Insightly object (its key table, custom
// objects, a guess for others), not only the four of the element's
// default configuration.
func TestEmptyPollerConfigForAnyKnownObject(t *testing.T) {
	t.Parallel()
	svc, c, _, body, _ := setup(t)
	ctx := context.Background()
	created, err := svc.Create(ctx, c, "", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.Update(ctx, c, created.ID, []byte(`{"configuration":{"event.poller.configuration":
		{"Tasks": {}, "Fruit__c": {"pageSize": 50}, "contacts": {}}}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	pc := v.Configuration[KeyPollerConfig]
	for _, want := range []string{`"idField":"TASK_ID"`, `"idField":"RECORD_ID"`, `"pageSize":50`, `/hubs/crm/Tasks?where=updated_after_utc`, `"createdDateField":"DATE_CREATED_UTC"`} {
		if !strings.Contains(strings.ReplaceAll(pc, " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("stored poller configuration lacks %s: %s", want, pc)
		}
	}
	// An object the element cannot know: a guessed key, checked by the
	// first poll (jobs' TestFirstPollPausesWhenRecordsLackTheFields).
	v, err = svc.Update(ctx, c, v.ID, []byte(`{"configuration":{"event.poller.configuration": {"Widgets": {}}}}`), true)
	if err != nil || !strings.Contains(v.Configuration[KeyPollerConfig], `"WIDGET_ID"`) {
		t.Errorf("an object the element cannot know: %v", err)
	}
}
