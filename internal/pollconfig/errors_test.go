package pollconfig_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/pollhook/pollhook/internal/pollconfig"
)

// TestParseReportsEveryError: two bad resources and a bad date pattern in a
// third give three errors, in resource name order, each on its own field;
// the error's text is the first one's, as a one-error check would say.
func TestParseReportsEveryError(t *testing.T) {
	t.Parallel()
	in := json.RawMessage(`{
		"contacts": {"url": "/hubs/crm/contacts", "idField": "CONTACT_ID", "pageSize": 0,
			"datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss"}},
		"accounts": {"url": "/hubs/crm/accounts", "idFeld": "ORGANISATION_ID",
			"datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss"}},
		"leads": {"url": "/hubs/crm/leads", "idField": "LEAD_ID",
			"datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:qq"}}
	}`)
	_, err := pollconfig.Parse(in, nil)
	var errs pollconfig.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v (%T), want pollconfig.Errors", err, err)
	}
	want := []string{
		"event.poller.configuration.accounts.idFeld",
		"event.poller.configuration.contacts.pageSize",
		"event.poller.configuration.leads.datesConfiguration.updatedDateFormat",
	}
	if len(errs) != len(want) {
		t.Fatalf("Parse gave %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for i, f := range want {
		if errs[i].Field != f || errs[i].Message == "" {
			t.Errorf("error %d = %q: %q, want field %q", i, errs[i].Field, errs[i].Message, f)
		}
	}
	if err.Error() != errs[0].Error() {
		t.Errorf("Error() = %q, want the first one, %q", err.Error(), errs[0].Error())
	}
	var pe *pollconfig.Error
	if !errors.As(err, &pe) || pe != errs[0] {
		t.Errorf("errors.As(*Error) = %v, want the first error", pe)
	}
}

// TestCompileReportsEveryError: independent problems of one resource are
// all reported.
func TestCompileReportsEveryError(t *testing.T) {
	t.Parallel()
	in := json.RawMessage(`{"contacts": {"url": "contacts", "idField": "",
		"datesConfiguration": {"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:qq",
			"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:qq"}}}`)
	_, err := pollconfig.Parse(in, nil)
	var errs pollconfig.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v (%T), want pollconfig.Errors", err, err)
	}
	const p = "event.poller.configuration.contacts."
	want := []string{p + "url", p + "idField", p + "datesConfiguration.updatedDateFormat", p + "datesConfiguration.createdDateFormat"}
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	if len(got) != len(want) {
		t.Fatalf("fields = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("fields = %q, want %q", got, want)
			break
		}
	}
}
