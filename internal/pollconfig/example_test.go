package pollconfig_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/pollconfig"
)

func Example() {
	defaults := json.RawMessage(`{"leads": {"url": "/hubs/crm/leads?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
		"idField": "LEAD_ID", "datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss",
		"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}}}`)

	// The string form, with a CE-style string boolean and an empty
	// resource that takes the element's default.
	cfg, err := pollconfig.Parse(json.RawMessage(`"{\"leads\": {}, \"contacts\": {\"url\": \"/hubs/crm/contacts\", \"idField\": \"CONTACT_ID\", \"filterByUpdateDate\": \"false\"}}"`), defaults)
	fmt.Println(err)

	cfg, err = pollconfig.Parse(json.RawMessage(`{"leads": {}}`), defaults)
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Names())

	c, err := cfg.Resources["leads"].Compile()
	if err != nil {
		panic(err)
	}
	from := time.Date(2025, 4, 22, 20, 0, 0, 0, time.UTC)
	where, _ := c.Where(from, from.Add(15*time.Minute))
	fmt.Println(c.Hub, c.Resource, where)

	rec := element.NewRecord(json.RawMessage(`{"LEAD_ID": 7, "DATE_CREATED_UTC": "2025-04-22 20:03:20", "DATE_UPDATED_UTC": "2025-04-22 20:03:25"}`))
	updated, _ := c.Updated(rec.Lookup)
	created, _ := c.Created(rec.Lookup)
	fmt.Println(updated, updated.Sub(created) <= cfg.Resources["leads"].CreatedCheckTolerance)
	// Output:
	// event.poller.configuration.contacts.filterByUpdateDate: unknown key "filterByUpdateDate"; did you mean "filterByUpdatedDate"?
	// [leads]
	// crm leads updated_after_utc = '2025-04-22 20:00:00'
	// 2025-04-22 20:03:25 +0000 GMT true
}
