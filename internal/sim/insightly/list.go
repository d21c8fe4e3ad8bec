package insightly

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Paging limits (spec §6).
const (
	TopDefault = 100
	TopMax     = 500
)

type listMode int

const (
	listPlain  listMode = iota // GET /{Obj}
	listSearch                 // GET /{Obj}/Search
	listByTag                  // GET /{Obj}/SearchByTag
)

// listQuery is a parsed list, search or tag query.
type listQuery struct {
	skip, top    int
	brief, count bool
	updatedAfter string // "yyyy-MM-dd HH:mm:ss": DATE_UPDATED_UTC must be strictly greater
	fieldName    string
	fieldValue   string
	tag          string
}

// parseList reads the query parameters of a list call. Unknown parameters
// are ignored, as ASP.NET Web API does; known ones with bad values are 400.
func (s *Sim) parseList(a *account, o *object, q url.Values, mode listMode) (listQuery, error) {
	lq := listQuery{top: TopDefault}
	var err error
	if v := q.Get("skip"); v != "" {
		if lq.skip, err = strconv.Atoi(v); err != nil || lq.skip < 0 {
			return lq, badRequest("The value '%s' is not valid for skip.", v)
		}
	}
	if v := q.Get("top"); v != "" {
		if lq.top, err = strconv.Atoi(v); err != nil || lq.top < 1 {
			return lq, badRequest("The value '%s' is not valid for top.", v)
		}
		if lq.top > TopMax {
			if s.cfg.StrictTop {
				return lq, badRequest("top must be %d or less.", TopMax)
			}
			lq.top = TopMax
		}
	}
	for name, dst := range map[string]*bool{"brief": &lq.brief, "count_total": &lq.count} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseBool(strings.ToLower(v)); err != nil {
				return lq, badRequest("The value '%s' is not valid for %s.", v, name)
			}
		}
	}
	if mode == listSearch || (mode == listPlain && s.cfg.ListHonorsUpdatedAfter) {
		if v := q.Get("updated_after_utc"); v != "" && o.hasUpdated() {
			t, ok := parseQueryTime(v)
			if !ok {
				return lq, badRequest("The value '%s' is not valid for updated_after_utc.", v)
			}
			lq.updatedAfter = formatDate(t)
		}
	}
	if mode == listSearch {
		lq.fieldName, lq.fieldValue = q.Get("field_name"), q.Get("field_value")
		_, hasName := q["field_name"]
		_, hasValue := q["field_value"]
		if hasName != hasValue {
			return lq, badRequest("To filter with a field name and value, both field_name and field_value parameters must be provided.")
		}
		if hasName && !knownField(a, o, lq.fieldName) {
			return lq, badRequest("'%s' is not a valid field name for %s.", lq.fieldName, o.Name)
		}
	}
	if mode == listByTag {
		if lq.tag = q.Get("tagName"); lq.tag == "" {
			return lq, badRequest("tagName is required.")
		}
	}
	return lq, nil
}

// knownField: a top-level scalar of o or one of its custom fields.
func knownField(a *account, o *object, name string) bool {
	if f, ok := o.field(name); ok {
		return f.Kind != kindArray
	}
	for _, d := range a.customFields[o.Name] {
		if strings.EqualFold(d.Name, name) {
			return true
		}
	}
	return false
}

var queryTimeLayouts = []string{
	time.RFC3339Nano,      // 2024-03-04T08:22:56Z, with an offset, with a fraction
	"2006-01-02T15:04:05", // no zone: UTC
	"2006-01-02 15:04:05", // Airbyte's and the Singer taps' form
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// looseOffset catches an offset whose "+" arrived as a space because the
// client did not escape it in the query string.
var looseOffset = regexp.MustCompile(`^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?) (\d\d:?\d\d)$`)

// parseQueryTime reads updated_after_utc in every spelling clients send,
// as UTC unless the value carries an offset. Second precision: the
// fraction is dropped, which is exact because record times have none.
func parseQueryTime(v string) (time.Time, bool) {
	if m := looseOffset.FindStringSubmatch(v); m != nil {
		v = m[1] + "+" + m[2]
	}
	for _, layout := range queryTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Truncate(time.Second), true
		}
	}
	return time.Time{}, false
}

// matches applies the query's filters to one record.
func (lq *listQuery) matches(o *object, r record) bool {
	if lq.updatedAfter != "" {
		// Both sides are "yyyy-MM-dd HH:mm:ss", so string order is time order.
		if u, _ := r["DATE_UPDATED_UTC"].(string); u <= lq.updatedAfter {
			return false
		}
	}
	if lq.fieldName != "" && !fieldEquals(o, r, lq.fieldName, lq.fieldValue) {
		return false
	}
	if lq.tag != "" {
		tags, _ := r["TAGS"].([]any)
		found := false
		for _, t := range tags {
			if name, _ := t.(map[string]any)["TAG_NAME"].(string); strings.EqualFold(name, lq.tag) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// fieldEquals is field_name/field_value: exact equality, case-insensitive
// as SQL Server's default collation compares, on a top-level field or a
// custom field. Numbers compare by value ("4601" matches 4601.0).
func fieldEquals(o *object, r record, name, want string) bool {
	var v any
	if _, ok := o.field(name); ok {
		v = r[name]
	} else {
		cfs, _ := r["CUSTOMFIELDS"].([]any)
		for _, e := range cfs {
			m := e.(map[string]any)
			if n, _ := m["FIELD_NAME"].(string); strings.EqualFold(n, name) {
				v = m["FIELD_VALUE"]
			}
		}
	}
	switch v := v.(type) {
	case int64:
		w, err := strconv.ParseFloat(want, 64)
		return err == nil && w == float64(v)
	case float64:
		w, err := strconv.ParseFloat(want, 64)
		return err == nil && w == v
	}
	got, ok := valueString(v)
	return ok && strings.EqualFold(got, want)
}

// list serves list, Search and SearchByTag: a bare JSON array in ascending
// ID order, whatever the filters.
func (s *Sim) list(a *account, o *object, r *http.Request, mode listMode) response {
	lq, err := s.parseList(a, o, r.URL.Query(), mode)
	if err != nil {
		return errResponse(err)
	}
	return s.page(a, o, lq, func(record) bool { return true })
}

// childNotes lists the notes linked to one parent record.
func (s *Sim) childNotes(a *account, parent *object, id int64, r *http.Request) response {
	if a.coll(parent.Name).visible(id, s.now()) == nil {
		return errorResponse(notFound(parent))
	}
	notes := a.lookup("Notes")
	lq, err := s.parseList(a, notes, r.URL.Query(), listSearch)
	if err != nil {
		return errResponse(err)
	}
	return s.page(a, notes, lq, func(rec record) bool {
		links, _ := rec["LINKS"].([]any)
		for _, l := range links {
			m := l.(map[string]any)
			if m["LINK_OBJECT_NAME"] == parent.Singular && m["LINK_OBJECT_ID"] == id {
				return true
			}
		}
		return false
	})
}

func (s *Sim) page(a *account, o *object, lq listQuery, keep func(record) bool) response {
	now := s.now()
	c := a.coll(o.Name)
	var pageIDs []int64
	var pageRecs []record
	total := 0
	c.scan(now, func(id int64, rec record) bool {
		if !lq.matches(o, rec) || !keep(rec) {
			return true
		}
		total++
		if total > lq.skip && len(pageRecs) < lq.top {
			pageIDs = append(pageIDs, id)
			pageRecs = append(pageRecs, rec)
		}
		// Without count_total there is no need to look past the page.
		return lq.count || len(pageRecs) < lq.top
	})
	if s.faults.malformed > 0 {
		s.faults.malformed--
		return jsonResponse(200, map[string]any{"Message": "An error has occurred."})
	}
	b := []byte{'['}
	for i, rec := range pageRecs {
		if i > 0 {
			b = append(b, ',')
		}
		b = o.appendRecord(b, rec, lq.brief)
	}
	b = append(b, ']')
	resp := response{status: 200, body: b, header: http.Header{}}
	if lq.count {
		resp.header.Set("X-Total-Count", strconv.Itoa(total))
	}
	// A record below the next page's offset disappears before the client
	// reads on: the next page starts one record later than it should.
	if len(pageRecs) == lq.top && s.faults.takeDeleteBetweenPages(o) {
		s.deleteLocked(a, o, pageIDs[0])
	}
	return resp
}
