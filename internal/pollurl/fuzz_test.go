package pollurl

import (
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
		"${date}", "${date:milliseconds}", "${epoch:us}", "${milliseconds}", "${epoch:0}",
		"${dateTimeZone:-8:00:HH:mm}", "${nowTimeZone:America/Denver:yyyy-MM-dd'T'HH:mm:ssXXX}",
		"${dateTimeZone:{TimeZone}:yyyy}", "${gmtDate:'{'yyyy'}'}", "${", "$${}}", "{objectName}",
		"${dateTimeZone:GMT+05:30:zzzz}", "${dateTimeZone:BST:z}", "${epochSeconds}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		tp, err := Parse(tmpl)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if tp.String() != tmpl {
			t.Fatalf("String() = %q, want %q", tp.String(), tmpl)
		}
		from := time.Date(2001, 7, 4, 19, 8, 56, 235e6, time.UTC)
		_ = tp.Render(from, from.Add(time.Minute))
		_ = tp.Render(time.Time{}, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))
	})
}
