package pollconfig_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/pollconfig"
)

// Free-text values are bounded, and a value over its bound is refused
// before it is compiled, naming its field; a value at the bound is fine.
func TestLengthLimits(t *testing.T) {
	t.Parallel()
	const p = "event.poller.configuration.contacts"
	const dc = p + ".datesConfiguration"
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	// pattern is a valid date pattern of n bytes.
	pattern := func(n int) string { return "yyyy-MM-dd'" + strings.Repeat("x", n-12) + "'" }
	// url is a valid URL template of n bytes.
	url := func(n int) string {
		u := "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}' AND FIRST_NAME='"
		return u + strings.Repeat("x", n-len(u)-1) + "'"
	}
	dates := func(key, v string) string {
		d := map[string]string{"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss",
			"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}
		d[key] = v
		b, _ := json.Marshal(d)
		return `"datesConfiguration": ` + string(b)
	}
	tests := []struct {
		name       string
		ok, tooBig string // extra keys at the bound and one byte over it
		field, msg string
	}{
		{"updated date pattern", dates("updatedDateFormat", pattern(100)), dates("updatedDateFormat", pattern(101)),
			dc + ".updatedDateFormat", "is 101 bytes long; at most 100"},
		{"created date pattern", dates("createdDateFormat", pattern(100)), dates("createdDateFormat", pattern(100_000)),
			dc + ".createdDateFormat", "is 100000 bytes long; at most 100"},
		{"url", `"url": ` + quote(url(2048)), `"url": ` + quote(url(2049)), p + ".url", "is 2049 bytes long; at most 2048"},
		{"id field", `"idField": ` + quote(strings.Repeat("I", 200)), `"idField": ` + quote(strings.Repeat("I", 201)),
			p + ".idField", "is 201 bytes long; at most 200"},
		{"date field", dates("updatedDateField", strings.Repeat("U", 200)), dates("updatedDateField", strings.Repeat("U", 201)),
			dc + ".updatedDateField", "is 201 bytes long; at most 200"},
		{"zone", dates("createdDateTimezone", "GMT"), dates("createdDateTimezone", "America/"+strings.Repeat("X", 57)),
			dc + ".createdDateTimezone", "is 65 bytes long; at most 64"},
	}
	for _, tt := range tests {
		if _, err := pollconfig.Parse(withKeys(tt.ok), nil); err != nil {
			t.Errorf("%s at the bound: %v", tt.name, err)
		}
		t.Run(tt.name, func(t *testing.T) {
			_, err := pollconfig.Parse(withKeys(tt.tooBig), nil)
			checkError(t, err, tt.field, tt.msg)
		})
	}
}

// Compile applies the same bounds to a resource built by hand.
func TestCompileLengthLimits(t *testing.T) {
	t.Parallel()
	def, err := pollconfig.Parse(readTestdata(t, "insightly-default.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := *def.Resources["contacts"]
	r.Dates.UpdatedFormat = strings.Repeat("y", 101)
	_, err = r.Compile()
	checkError(t, err, "event.poller.configuration.contacts.datesConfiguration.updatedDateFormat", "at most 100")
}

func TestCount(t *testing.T) {
	t.Parallel()
	obj := json.RawMessage(`{"contacts": {}, "leads": {"url": "not checked"}}`)
	for _, tc := range []struct {
		value json.RawMessage
		want  int
	}{{obj, 2}, {asString(t, obj), 2}, {json.RawMessage(`{}`), 0}} {
		if n, err := pollconfig.Count(tc.value); err != nil || n != tc.want {
			t.Errorf("Count(%s) = %d, %v; want %d", tc.value, n, err, tc.want)
		}
	}
	_, err := pollconfig.Count(json.RawMessage(`[1]`))
	checkError(t, err, "event.poller.configuration", "must be a JSON object")
}
