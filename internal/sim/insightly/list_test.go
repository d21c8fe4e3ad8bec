package insightly

import (
	"encoding/json"
	"strconv"
	"testing"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestPagingThroughManyRecords(t *testing.T) {
	t.Parallel()
	sim, b := setup(t, Config{Records: 1234})
	truth, err := sim.Records(b.key, "Contacts")
	if err != nil {
		t.Fatal(err)
	}
	if len(truth) != 1234 {
		t.Fatalf("seeded %d contacts, want 1234", len(truth))
	}
	for _, top := range []int{500, 100, 97} {
		var got []int64
		for skip := 0; ; skip += top {
			page, resp := b.getList(t, "/v3.1/Contacts/Search?count_total=true&top="+strconv.Itoa(top)+"&skip="+strconv.Itoa(skip))
			if resp.Header.Get("X-Total-Count") != "1234" {
				t.Fatalf("X-Total-Count = %q", resp.Header.Get("X-Total-Count"))
			}
			for _, r := range page {
				got = append(got, idOf(t, r, "CONTACT_ID"))
			}
			if len(page) < top {
				break
			}
		}
		if len(got) != len(truth) {
			t.Fatalf("top=%d: read %d records, want %d", top, len(got), len(truth))
		}
		for i, id := range got {
			if i > 0 && id <= got[i-1] {
				t.Fatalf("top=%d: IDs not ascending at %d: %d after %d", top, i, id, got[i-1])
			}
			if want := truth[i]["CONTACT_ID"].(int64); id != want {
				t.Fatalf("top=%d: record %d is %d, want %d", top, i, id, want)
			}
		}
	}
}

func TestPagingParameters(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 600})
	if page, _ := b.getList(t, "/v3.1/Organisations"); len(page) != TopDefault {
		t.Errorf("default page = %d records, want %d", len(page), TopDefault)
	}
	if page, _ := b.getList(t, "/v3.1/Organisations?top=1000"); len(page) != TopMax {
		t.Errorf("top=1000 gave %d records, want the cap %d", len(page), TopMax)
	}
	page, resp := b.getList(t, "/v3.1/Organisations?skip=10000")
	if len(page) != 0 || resp.Header.Get("X-Total-Count") != "" {
		t.Errorf("past the end: %d records, X-Total-Count %q; want [] and no header", len(page), resp.Header.Get("X-Total-Count"))
	}
	// Airbyte sends count_total=True.
	if _, resp := b.getList(t, "/v3.1/Organisations?top=1&count_total=True"); resp.Header.Get("X-Total-Count") != "600" {
		t.Errorf("count_total=True: X-Total-Count = %q", resp.Header.Get("X-Total-Count"))
	}
	for _, q := range []string{"top=0", "top=-1", "top=ten", "skip=-5", "skip=x", "brief=maybe", "count_total=2x"} {
		resp, body := b.do(t, "GET", "/v3.1/Organisations?"+q, nil)
		wantStatus(t, resp, body, 400)
		message(t, body)
	}
}

func TestStrictTop(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 3, StrictTop: true})
	resp, body := b.do(t, "GET", "/v3.1/Contacts?top=501", nil)
	wantStatus(t, resp, body, 400)
	if _, resp := b.getList(t, "/v3.1/Contacts?top=500"); resp.StatusCode != 200 {
		t.Fatal("top=500 refused in strict mode")
	}
}

func TestBriefDropsArrays(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 5})
	full, _ := b.getList(t, "/v3.1/Organisations?top=1")
	brief, _ := b.getList(t, "/v3.1/Organisations?top=1&brief=true")
	for _, k := range []string{"CUSTOMFIELDS", "TAGS", "DATES", "EMAILDOMAINS", "LINKS"} {
		if _, ok := full[0][k]; !ok {
			t.Errorf("full record lacks %s", k)
		}
		if _, ok := brief[0][k]; ok {
			t.Errorf("brief record has %s", k)
		}
	}
	if brief[0]["ORGANISATION_NAME"] != full[0]["ORGANISATION_NAME"] || len(brief[0]) != len(full[0])-5 {
		t.Errorf("brief record lost scalars: %d keys vs %d", len(brief[0]), len(full[0]))
	}
}

func TestRecordShapes(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 20, Plan: "Enterprise"})
	for _, name := range []string{"Contacts", "Organisations", "Leads", "Opportunities", "Tasks", "Events",
		"Projects", "Notes", "Users", "ActivitySets", "Pipelines", "Ticket", "Prospect", "Product", "Fruit__c"} {
		o := builtinOrCustom(name)
		page, _ := b.getList(t, "/v3.1/"+name+"?top=3")
		if len(page) == 0 {
			t.Errorf("%s: no seeded records", name)
			continue
		}
		for _, r := range page {
			if len(r) != len(o.Fields) {
				t.Errorf("%s: record has %d keys, schema %d", name, len(r), len(o.Fields))
			}
			for _, f := range o.Fields {
				v, ok := r[f.Name]
				if !ok {
					t.Errorf("%s: missing %s", name, f.Name)
					continue
				}
				checkKind(t, name, f, v)
			}
		}
	}
}

func builtinOrCustom(name string) *object {
	for _, o := range builtinObjects {
		if o.Name == name {
			return o
		}
	}
	return newCustomObject(name, name)
}

func checkKind(t *testing.T, obj string, f field, v any) {
	t.Helper()
	if v == nil {
		if f.Kind == kindArray {
			t.Errorf("%s.%s is null, want []", obj, f.Name)
		}
		return
	}
	ok := false
	switch f.Kind {
	case kindString:
		_, ok = v.(string)
	case kindDate:
		s, isStr := v.(string)
		ok = isStr && len(s) == len(dateLayout) && s[10] == ' '
	case kindBool:
		_, ok = v.(bool)
	case kindInt:
		n, isNum := v.(json.Number)
		_, err := n.Int64()
		ok = isNum && err == nil
	case kindNumber:
		_, ok = v.(json.Number)
	case kindArray:
		_, ok = v.([]any)
	}
	if !ok {
		t.Errorf("%s.%s = %#v, not of kind %c", obj, f.Name, v, f.Kind)
	}
}
