package pollurl_test

import (
	"fmt"
	"time"

	"github.com/pollhook/pollhook/internal/pollurl"
)

func Example() {
	// The Insightly element's default poller URL.
	tmpl, err := pollurl.Parse("/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'")
	if err != nil {
		panic(err)
	}
	lastPoll := time.Date(2024, 7, 4, 12, 0, 0, 0, time.UTC)
	pollDelay := 30 * time.Second
	from := lastPoll.Add(-pollDelay)
	now := time.Date(2024, 7, 4, 12, 5, 0, 0, time.UTC)
	fmt.Println(tmpl.Render(from, now))

	window, _ := pollurl.Parse("from=${dateTimeZone:America/Denver:yyyy-MM-dd'T'HH:mm:ssXXX}&to=${nowTimeZone:America/Denver:yyyy-MM-dd'T'HH:mm:ssXXX}&since=${epoch:s}")
	fmt.Println(window.Render(from, now))

	fmt.Println(pollurl.Validate("/hubs/crm/contacts?where=updated>'${epochSeconds}'"))
	// Output:
	// /hubs/crm/contacts?where=updated_after_utc='2024-07-04 11:59:30'
	// from=2024-07-04T05:59:30-06:00&to=2024-07-04T06:05:00-06:00&since=1720094370
	// unknown template variable "epochSeconds" at offset 34; known: gmtDate, date, dateTimeZone, nowTimeZone, epoch, milliseconds
}
