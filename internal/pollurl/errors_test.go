package pollurl

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl, want string
	}{
		{"/hubs/crm/contacts?where=updated_after='${epochSeconds}'",
			`unknown template variable "epochSeconds" at offset 40; known: gmtDate, date, dateTimeZone, nowTimeZone, epoch, milliseconds`},
		{"/hubs/crm/${objectName}", `unknown template variable "objectName" at offset 10`},
		{"${GMTDATE:yyyy}", `unknown template variable "GMTDATE" at offset 0`},
		{"${}", `unknown template variable "" at offset 0`},
		{"${ gmtDate:yyyy}", `unknown template variable " gmtDate" at offset 0`},
		{"where=x>'${gmtDate:yyyy-MM-dd", `unterminated template variable at offset 9: "${gmtDate:yyyy-MM-dd" has no closing "}"`},
		{"${", `unterminated template variable at offset 0`},
		{"${epoch} ${", `unterminated template variable at offset 9`},
		{"${gmtDate}", `template variable "${gmtDate}" at offset 0 needs a format: ${gmtDate:<format>}`},
		{"x${gmtDate:}", `empty format in "${gmtDate:}" at offset 11`},
		{"${date:}", `empty format in "${date:}" at offset 7`},
		{"${gmtDate:yyyy-MM-ddTHH:mm:ss}",
			`bad date format in "${gmtDate:yyyy-MM-ddTHH:mm:ss}" at offset 10: compile "yyyy-MM-ddTHH:mm:ss": illegal pattern character 'T' at offset 10`},
		{"${date:yyyy-MM-dd'T}", `bad date format in "${date:yyyy-MM-dd'T}" at offset 7: compile "yyyy-MM-dd'T": unterminated quote at offset 10`},
		{"${gmtDate:YYYY-ww}", `unsupported pattern letter 'Y'`},
		{"${dateTimeZone}", `template variable "${dateTimeZone}" at offset 0 needs a zone and a format: ${dateTimeZone:<zone>:<format>}`},
		{"${dateTimeZone:GMT}", `needs a zone and a format`},
		{"${nowTimeZone:-8:00}", `template variable "${nowTimeZone:-8:00}" at offset 0 needs a zone and a format: ${nowTimeZone:<zone>:<format>}`},
		{"${dateTimeZone::yyyy}", `empty time zone in "${dateTimeZone::yyyy}" at offset 15`},
		{"${dateTimeZone:GMT:}", `empty format in "${dateTimeZone:GMT:}" at offset 19`},
		{"${dateTimeZone:GMT:yyyyT}", `bad date format in "${dateTimeZone:GMT:yyyyT}" at offset 19`},
		{"${dateTimeZone:Mars/Olympus:yyyy}", `unknown time zone "Mars/Olympus" in "${dateTimeZone:Mars/Olympus:yyyy}" at offset 15`},
		{"${dateTimeZone:{TimeZone}:yyyy}", `unknown time zone "{TimeZone}" in "${dateTimeZone:{TimeZone}:yyyy}" at offset 15; substitute instance configuration placeholders before parsing`},
		{"${gmtDate:yyyy{}", `unterminated template variable at offset 0`},
		{"${gmtDate:'}'}", `bad date format in "${gmtDate:'}" at offset 10: compile "'": unterminated quote at offset 0`},
		{"${nowTimeZone:Local:yyyy}", `unknown time zone "Local"`},
		{"${dateTimeZone:pst:yyyy}", `unknown time zone "pst"`},
		{"${dateTimeZone:../../etc/passwd:yyyy}", `unknown time zone "../../etc/passwd"`},
		{"${dateTimeZone:/etc/localtime:yyyy}", `unknown time zone "/etc/localtime"`},
		{"${dateTimeZone:GMT+24:yyyy}", `unknown time zone "GMT+24"`},
		{"${dateTimeZone:+5:60:yyyy}", `unknown time zone "+5:60"`},
		{"${dateTimeZone:+12345:yyyy}", `unknown time zone "+12345"`},
		{"${dateTimeZone:+:yyyy}", `unknown time zone "+"`},
		{"${epoch:}", `unknown epoch unit "" in "${epoch:}" at offset 8; known: ms, s, us, 0`},
		{"${epoch:ns}", `unknown epoch unit "ns" in "${epoch:ns}" at offset 8`},
		{"${epoch:S}", `unknown epoch unit "S"`},
		{"${milliseconds:x}", `template variable "${milliseconds:x}" at offset 0 takes no argument`},
		{"${milliseconds:}", `takes no argument`},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			t.Parallel()
			tp, err := Parse(tt.tmpl)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error", tt.tmpl, tp.Render(from, now))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error =\n  %s\nwant it to contain\n  %s", tt.tmpl, err, tt.want)
			}
			if verr := Validate(tt.tmpl); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate(%q) = %v, want %v", tt.tmpl, verr, err)
			}
		})
	}
}
