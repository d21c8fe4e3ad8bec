package pollurl

import (
	"testing"
	"time"
)

// from is the javadoc instant 2001-07-04 12:08:56.235 PDT (19:08:56.235Z);
// now is 90 seconds later.
var (
	from = time.Date(2001, 7, 4, 19, 8, 56, 235e6, time.UTC)
	now  = from.Add(90 * time.Second)
)

func TestRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl, want string
	}{
		// The documented Insightly default.
		{"/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
			"/hubs/crm/contacts?where=updated_after_utc='2001-07-04 19:08:56'"},
		{"${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}", "2001-07-04T19:08:56Z"},
		{"${gmtDate:yyyy-MM-dd'T'HH:mm:ss.SSSXXX}", "2001-07-04T19:08:56.235Z"},
		{"${gmtDate:yyyy-MM-dd HH:mm:ss z}", "2001-07-04 19:08:56 GMT"},
		{"${gmtDate:milliseconds}", "994273736235"},
		{"${date:yyyy-MM-dd HH:mm:ss z}", "2001-07-04 19:08:56 UTC"},
		{"${date:yyyy-MM-dd'T'HH:mm:ssZ}", "2001-07-04T19:08:56+0000"},
		{"${date:milliseconds}", "994273736235"},
		{"where=lastmodifieddate>'${date}'", "where=lastmodifieddate>'994273736235'"},
		{"${epoch}", "994273736235"},
		{"${epoch:ms}", "994273736235"},
		{"${epoch:s}", "994273736"},
		{"${epoch:0}", "994273736"},
		{"${epoch:us}", "994273736235000"},
		{"where=timestamp>'${milliseconds}'", "where=timestamp>'994273736235'"},

		// Zones: Java's fixed IDs, its old-mapping IDs (with DST), our
		// fixed daylight abbreviations, IANA names and offsets.
		{"${dateTimeZone:GMT:HH:mm z}", "19:08 GMT"},
		{"${dateTimeZone:UTC:HH:mm z}", "19:08 UTC"},
		{"${dateTimeZone:Z:HH:mm}", "19:08"},
		{"${dateTimeZone:EST:HH:mm z}", "14:08 EST"},
		{"${dateTimeZone:MST:HH:mm z}", "12:08 MST"},
		{"${dateTimeZone:HST:HH:mm z}", "09:08 HST"},
		{"${dateTimeZone:PST:HH:mm z}", "12:08 PDT"},
		{"${dateTimeZone:CST:HH:mm z}", "14:08 CDT"},
		{"${dateTimeZone:EDT:HH:mm z}", "15:08 EDT"},
		{"${dateTimeZone:CDT:HH:mm z}", "14:08 CDT"},
		{"${dateTimeZone:MDT:HH:mm z}", "13:08 MDT"},
		{"${dateTimeZone:PDT:HH:mm z}", "12:08 PDT"},
		{"${dateTimeZone:AKST:HH:mm z}", "10:08 AKST"},
		{"${dateTimeZone:AKDT:HH:mm z}", "11:08 AKDT"},
		{"${dateTimeZone:BST:HH:mm Z}", "01:08 +0600"},
		{"${dateTimeZone:IST:HH:mm Z}", "00:38 +0530"},
		{"${dateTimeZone:CET:HH:mm z}", "21:08 CEST"},
		{"${dateTimeZone:CEST:HH:mm z}", "21:08 CEST"},
		{"${dateTimeZone:JST:HH:mm Z}", "04:08 +0900"},
		{"${dateTimeZone:America/Denver:yyyy-MM-dd HH:mm:ss}", "2001-07-04 13:08:56"},
		{"${dateTimeZone:Europe/Paris:HH:mm:ss z}", "21:08:56 CEST"},
		{"${dateTimeZone:Etc/GMT+5:HH:mm}", "14:08"},
		{"${dateTimeZone:-8:00:HH:mm z}", "11:08 GMT-08:00"},
		{"${dateTimeZone:+6:00:HH:mm z}", "01:08 GMT+06:00"},
		{"${dateTimeZone:-08:00:HH:mm XXX}", "11:08 -08:00"},
		{"${dateTimeZone:+0530:HH:mm z}", "00:38 GMT+05:30"},
		{"${dateTimeZone:+530:HH:mm}", "00:38"},
		{"${dateTimeZone:GMT+5:HH:mm z}", "00:08 GMT+05:00"},
		{"${dateTimeZone:GMT-08:00:HH:mm}", "11:08"},
		{"${dateTimeZone:UTC+1:HH:mm}", "20:08"},
		{"${dateTimeZone:GMT+05:30:HH:mm:ss}", "00:38:56"},
		{"${dateTimeZone:-8:00:milliseconds}", "994273736235"},

		// nowTimeZone renders the upper bound.
		{"${nowTimeZone:GMT:yyyy-MM-dd HH:mm:ss}", "2001-07-04 19:10:26"},
		{"${nowTimeZone:America/Denver:HH:mm:ss}", "13:10:26"},
		{"from='${dateTimeZone:GMT:yyyy-MM-dd HH:mm:ss}' and to='${nowTimeZone:GMT:yyyy-MM-dd HH:mm:ss}'",
			"from='2001-07-04 19:08:56' and to='2001-07-04 19:10:26'"},

		// Everything else is copied verbatim, unencoded.
		{"", ""},
		{"/hubs/crm/{objectName}/{id}?a=b c&d='e'", "/hubs/crm/{objectName}/{id}?a=b c&d='e'"},
		{"$ $$ $} {$} ${epoch}$", "$ $$ $} {$} 994273736235$"},
		{"${epoch}${epoch:s}", "994273736235994273736"},
		{"é ${gmtDate:yyyy}年", "é 2001年"},
		{"${gmtDate:'{'yyyy'}'}", "{2001}"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			t.Parallel()
			tp, err := Parse(tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			if got := tp.Render(from, now); got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
			if tp.String() != tt.tmpl {
				t.Errorf("String = %q", tp.String())
			}
		})
	}
}

// TestRenderIgnoresInputZone checks that the zone of from and now never
// leaks into the output: only the template's zone matters.
func TestRenderIgnoresInputZone(t *testing.T) {
	t.Parallel()
	tp, err := Parse("${gmtDate:HH:mm} ${date:HH:mm} ${dateTimeZone:EST:HH:mm} ${nowTimeZone:GMT:HH:mm}")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	want := tp.Render(from, now)
	if got := tp.Render(from.In(tokyo), now.In(time.FixedZone("", -3600))); got != want {
		t.Errorf("Render with zoned inputs = %q, want %q", got, want)
	}
}

func TestRenderWinterUsesStandardTime(t *testing.T) {
	t.Parallel()
	winter := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	tp, err := Parse("${dateTimeZone:PST:HH:mm z} ${dateTimeZone:PDT:HH:mm z} ${dateTimeZone:CET:HH:mm z}")
	if err != nil {
		t.Fatal(err)
	}
	// PST follows America/Los_Angeles; PDT is a fixed -07:00.
	if got, want := tp.Render(winter, winter), "04:00 PST 05:00 PDT 13:00 CET"; got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := Validate("/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'"); err != nil {
		t.Errorf("Validate(Insightly default) = %v", err)
	}
	if err := Validate("${epochSeconds}"); err == nil {
		t.Error("Validate(${epochSeconds}) = nil, want error")
	}
}
