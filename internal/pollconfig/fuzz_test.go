package pollconfig_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/pollconfig"
)

// FuzzParse checks that Parse never panics, that every failure is an *Error
// naming a field under event.poller.configuration, and that whatever it
// accepts compiles and survives Parse(Marshal(c)) unchanged.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		s, _ := json.Marshal(string(b))
		f.Add(s)
	}
	for _, s := range []string{
		`{"contacts": {}}`, `{}`, `[]`, `""`, `"{}"`, `null`, `{"a": null}`,
		string(withKeys(`"pageSize": "10000", "filterByUpdatedDate": "false", "deletes": {"enabled": "true", "scanEveryMinutes": 5}`)),
		string(withKeys(`"url": "/hubs/crm/contacts?where=a+LIKE+'%25x%'&pageSize=3"`)),
		string(withKeys(`"parameters": {"x": [1, 2.5e3, "y"]}, "postHooks": null`)),
		string(withKeys(`"filterByUpdateDate": false`)),
	} {
		f.Add([]byte(s))
	}
	def, err := os.ReadFile("testdata/insightly-default.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := pollconfig.Parse(in, def)
		if err != nil {
			var pe *pollconfig.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %v (%T), want *Error", in, err, err)
			}
			if pe.Message == "" || len(pe.Field) < len(pollconfig.Key) || pe.Field[:len(pollconfig.Key)] != pollconfig.Key {
				t.Fatalf("Parse(%q) = bad error %#v", in, pe)
			}
			return
		}
		for _, name := range c.Names() {
			r := c.Resources[name]
			if r.Name != name {
				t.Fatalf("resource %q has Name %q", name, r.Name)
			}
			if _, err := r.Compile(); err != nil {
				t.Fatalf("accepted resource %q does not compile: %v", name, err)
			}
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		c2, err := pollconfig.Parse(b, nil)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(%q))) = %v\n%s", in, err, b)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip of %q changed the config\n%s", in, b)
		}
		b2, err := json.Marshal(c2)
		if err != nil || string(b) != string(b2) {
			t.Fatalf("Marshal not stable: %s vs %s (%v)", b, b2, err)
		}
	})
}

// FuzzResource drives Compile through well-formed JSON, which FuzzParse
// rarely produces: arbitrary URLs, paths, patterns, zones and numbers.
func FuzzResource(f *testing.F) {
	f.Add("/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'", "CONTACT_ID",
		"yyyy-MM-dd HH:mm:ss", "GMT", "milliseconds", "MST", "500", "true")
	f.Add("/hubs/marketing/deals?where=mdate>=2017-02-28T16:11:29-06:00", "user.id",
		"yyyy-MM-dd'T'HH:mm:ssXXX", "", "yyyy-MM-dd'T'HH:mm:ssXXX'", "-8:00", "10000", "false")
	f.Add("/hubs/crm/a/{id}/b?where=x+LIKE+'%25y%'&pageSize=5&where=z", "a..b", "EEE, d MMM yyyy", "America/Denver", "", "", "-1", "TRUE")
	f.Fuzz(func(t *testing.T, u, id, updFormat, updZone, creFormat, creZone, pageSize, filter string) {
		res := map[string]any{
			"url": u, "idField": id, "pageSize": pageSize, "filterByUpdatedDate": filter,
			"datesConfiguration": map[string]string{
				"updatedDateField": "u", "updatedDateFormat": updFormat, "updatedDateTimezone": updZone,
				"createdDateField": "c", "createdDateFormat": creFormat, "createdDateTimezone": creZone,
			},
		}
		in, err := json.Marshal(map[string]any{"r": res})
		if err != nil {
			t.Skip()
		}
		c, err := pollconfig.Parse(in, nil)
		if err != nil {
			var pe *pollconfig.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%s) = %v (%T), want *Error", in, err, err)
			}
			return
		}
		cc, err := c.Resources["r"].Compile()
		if err != nil {
			t.Fatalf("accepted resource does not compile: %v", err)
		}
		_, _ = cc.Where(time.Unix(0, 0), time.Unix(60, 0))
		_, _ = cc.Updated(func(string) (any, bool) { return "2025-04-22 20:03:25", true })
		_, _ = cc.Created(func(string) (any, bool) { return json.Number("1745352205000"), true })
		b, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := pollconfig.Parse(b, nil)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip of %s: %v\n%s", in, err, b)
		}
	})
}
