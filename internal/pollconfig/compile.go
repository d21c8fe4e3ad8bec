package pollconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/element/ceql"
	"github.com/pollhook/pollhook/internal/javatime"
	"github.com/pollhook/pollhook/internal/pollurl"
)

// Compiled is a resource prepared for polling: its URL template, hub
// resource and date patterns compiled once, so that nothing in a poll can
// fail for configuration reasons. It is immutable and safe for concurrent
// use.
type Compiled struct {
	// Config is a copy of the resource it was compiled from.
	Config *Resource
	// Template is the compiled URL.
	Template *pollurl.Template
	// Hub is the hub named in the URL path ("crm"). Compile does not check
	// it against the element's hub; the instance API does.
	Hub string
	// Resource is the hub resource the URL reads: the path after the hub
	// ("contacts", "accounts/{id}/addresses").
	Resource string
	// Query holds the URL's query parameters other than where, decoded
	// ("pageSize", "orderBy"). They contain no templates.
	Query url.Values
	// UpdatedFormat and CreatedFormat are the compiled date patterns; nil
	// when the date is not configured.
	UpdatedFormat, CreatedFormat *javatime.Pattern
	// UpdatedLoc and CreatedLoc are the zones for dates that carry none.
	UpdatedLoc, CreatedLoc *time.Location
	// Filter is Config.Filter parsed; nil when the resource has no filter
	// (every change is reported).
	Filter ceql.Expr
}

// sampleFrom and sampleNow are the window Compile renders the URL for, to
// check that its where clause is valid CEQL before the first poll.
var (
	sampleFrom = time.Date(2025, 4, 22, 20, 3, 25, 0, time.UTC)
	sampleNow  = sampleFrom.Add(15 * time.Minute)
)

// Compile validates a resource deeply (the URL and its templates, the where
// clause it renders, the id and date paths, patterns and zones, and every
// range) and prepares it for the poller. Errors are *Error naming the
// field under Key and r.Name. Parse has already called it on every
// resource it returns, so the poller's own call cannot fail for those.
func (r *Resource) Compile() (*Compiled, error) {
	path := Key
	if r.Name != "" {
		path += "." + r.Name
	}
	c := &Compiled{Config: r.clone(), Query: url.Values{}}
	var errs Errors
	errs.add(c.compileURL(path+".url", r.URL))
	if r.IDField == "" {
		errs.add(errorf(path+".idField", "is required: the dot path to the record id, e.g. \"CONTACT_ID\" or \"user.id\""))
	} else {
		errs.add(checkDotPath(path+".idField", r.IDField))
	}
	errs = append(errs, c.compileDates(path+".datesConfiguration", r)...)
	for _, s := range []struct {
		key string
		d   time.Duration
	}{
		{"createdCheckTolerance", r.CreatedCheckTolerance},
		{"pollDelay", r.PollDelay},
		{"overlap", r.Overlap},
	} {
		f := path + "." + s.key
		if s.d%time.Second != 0 {
			errs.add(errorf(f, "must be a whole number of seconds, found %v", s.d))
			continue
		}
		errs.add(checkRange(f, int64(s.d/time.Second), 0, MaxSeconds, "seconds"))
	}
	if r.PageSize < 1 || r.PageSize > MaxPageSize {
		errs.add(errorf(path+".pageSize", "must be between 1 and %d, found %d", MaxPageSize, r.PageSize))
	}
	d := r.Deletes
	if f := path + ".deletes.scanEveryMinutes"; d.Interval%time.Minute != 0 {
		errs.add(errorf(f, "must be a whole number of minutes, found %v", d.Interval))
	} else {
		errs.add(checkRange(f, int64(d.Interval/time.Minute), 1, MaxDeleteIntervalMinutes, "minutes"))
	}
	errs.add(checkRatio(path+".deletes.maxMissingShare", d.MaxMissingRatio))
	if r.Snapshots && !d.Enabled {
		errs.add(errorf(path+".deletes.enabled", "is false, but \"snapshots\": true needs delete detection; remove \"enabled\": false or turn snapshots off"))
	}
	errs = append(errs, checkFieldNames(path+".fields", "fields", r.Fields, r.Snapshots, nil)...)
	errs = append(errs, checkFieldNames(path+".ignoreFields", "ignoreFields", r.IgnoreFields, r.Snapshots, r.Fields)...)
	var e *Error
	c.Filter, e = compileFilter(path+".filter", r.Filter)
	errs.add(e)
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

const hubsPrefix = "/hubs/"

// compileURL checks the URL's shape, compiles its template and checks the
// where clause it renders.
func (c *Compiled) compileURL(field, u string) *Error {
	if e := checkLength(field, u, MaxURLLength); e != nil {
		return e
	}
	if u == "" {
		return errorf(field, "is required: the hub find URL, e.g. \"/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'\"")
	}
	p, query, _ := strings.Cut(u, "?")
	if !strings.HasPrefix(p, hubsPrefix) {
		return errorf(field, "must be a hub-relative URL /hubs/<hub>/<resource>[?where=...], found %q", clip(u))
	}
	if strings.Contains(p, "${") {
		return errorf(field, "has a template in its path %q; templates belong in the where parameter", clip(p))
	}
	segs := strings.Split(p[len(hubsPrefix):], "/")
	if len(segs) < 2 {
		return errorf(field, "path %q names no resource; expected /hubs/<hub>/<resource>", clip(p))
	}
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return errorf(field, "path %q has an empty, \".\" or \"..\" segment", clip(p))
		}
		for j := 0; j < len(s); j++ {
			if !nameByte(s[j]) || i == 0 && strings.IndexByte("./{}", s[j]) >= 0 {
				return errorf(field, "path %q contains %q; use letters, digits and _ . { } -", clip(p), rune(s[j]))
			}
		}
	}
	c.Hub, c.Resource = segs[0], strings.Join(segs[1:], "/")

	t, err := pollurl.Parse(u)
	if err != nil {
		return errorf(field, "bad template: %v", err)
	}
	c.Template = t

	wheres := 0
	for part := range strings.SplitSeq(query, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = unescape(k)
		if k == "where" {
			wheres++
			continue
		}
		if strings.Contains(part, "${") {
			return errorf(field, "has a template in query parameter %q; pollhook renders templates only in where", clip(k))
		}
		c.Query.Add(k, unescape(v))
	}
	if wheres > 1 {
		return errorf(field, "has %d where parameters; combine them with AND", wheres)
	}
	where, _ := c.whereText(sampleFrom, sampleNow)
	if _, err := ceql.Parse(where); err != nil {
		return errorf(field, "where clause is not valid CEQL: %v (in %q, as rendered for a sample window)", err, clip(where))
	}
	return nil
}

// checkFieldNames validates fields or ignoreFields: they need snapshots,
// and the names must be non-empty, unique, at most MaxFieldNames of them,
// and none of them in other (fields, for ignoreFields).
func checkFieldNames(field, key string, names []string, snapshots bool, other []string) Errors {
	if len(names) == 0 {
		return nil
	}
	var errs Errors
	if !snapshots {
		errs.add(errorf(field, "needs \"snapshots\": true: %s compares a record with its last observed version", key))
	}
	if len(names) > MaxFieldNames {
		errs.add(errorf(field, "has %d names; at most %d", len(names), MaxFieldNames))
		return errs
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		switch {
		case strings.TrimSpace(n) == "":
			errs.add(errorf(field, "item %d is empty; give a field name such as \"OPPORTUNITY_STATE\"", i+1))
		case len(n) > MaxPathLength:
			errs.add(errorf(field, "item %d is %d bytes long; at most %d", i+1, len(n), MaxPathLength))
		case seen[n]:
			errs.add(errorf(field, "names %q twice", clip(n)))
		case slices.Contains(other, n):
			errs.add(errorf(field, "names %q, which is also in fields; a field cannot be both reported and ignored", clip(n)))
		}
		seen[n] = true
	}
	return errs
}

// compileFilter parses filter, a CEQL predicate; empty means none.
func compileFilter(field, filter string) (ceql.Expr, *Error) {
	if filter == "" {
		return nil, nil
	}
	if e := checkLength(field, filter, MaxFilterLength); e != nil {
		return nil, e
	}
	x, err := ceql.Parse(filter)
	if err != nil {
		var ce *ceql.Error
		if errors.As(err, &ce) {
			return nil, errorf(field, "at position %d: %s (in %q)", ce.Pos, ce.Msg, clip(filter))
		}
		return nil, errorf(field, "is not valid CEQL: %v", err)
	}
	if x == nil {
		return nil, errorf(field, "is blank; give a CEQL predicate such as \"OPPORTUNITY_STATE = 'WON'\", or remove the key")
	}
	return x, nil
}

// clip shortens s for an error message.
func clip(s string) string { return truncate(s, 120) }

// checkDotPath validates a dot path ("user.id", "LINKS.0.LINK_ID"), the
// syntax element.Record.Lookup reads.
func checkDotPath(field, p string) *Error {
	if e := checkLength(field, p, MaxPathLength); e != nil {
		return e
	}
	if strings.TrimSpace(p) != p {
		return errorf(field, "%q has leading or trailing spaces", p)
	}
	for part := range strings.SplitSeq(p, ".") {
		if part == "" {
			return errorf(field, "%q has an empty path segment; write a dot path such as \"user.id\"", p)
		}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return errorf(field, "%q contains a control character", p)
		}
	}
	return nil
}

// compileDates checks which dates the filters need and compiles their
// patterns and zones.
//
// The updated date is required when records are filtered by it
// (filterByUpdatedDate, the default) or by the poll start
// (filterByCurrentDate); the created date when filterByUpdatedDate is
// false, since records are then filtered by creation. Otherwise the created
// date is optional: without it no record can be told to be new, and every
// event is UPDATED.
func (c *Compiled) compileDates(path string, r *Resource) Errors {
	d := r.Dates
	var need string
	switch {
	case r.FilterByUpdatedDate:
		need = "when filterByUpdatedDate is true (the default)"
	case r.FilterByCurrentDate:
		need = "when filterByCurrentDate is true"
	}
	var errs Errors
	var e *Error
	c.UpdatedFormat, c.UpdatedLoc, e = compileDate(path, "updated", d.UpdatedField, d.UpdatedFormat, d.UpdatedTimezone, need)
	errs.add(e)
	need = ""
	if !r.FilterByUpdatedDate {
		need = "when filterByUpdatedDate is false, since records are then filtered by created date"
	}
	c.CreatedFormat, c.CreatedLoc, e = compileDate(path, "created", d.CreatedField, d.CreatedFormat, d.CreatedTimezone, need)
	errs.add(e)
	return errs
}

// compileDate compiles one date's field, format and zone; need, when not
// empty, says why the date is required.
func compileDate(path, which, field, format, zone, need string) (*javatime.Pattern, *time.Location, *Error) {
	fk, pk, zk := path+"."+which+"DateField", path+"."+which+"DateFormat", path+"."+which+"DateTimezone"
	if e := checkLength(pk, format, MaxDatePatternLength); e != nil {
		return nil, nil, e
	}
	if e := checkLength(zk, zone, MaxZoneLength); e != nil {
		return nil, nil, e
	}
	switch {
	case field == "" && need != "":
		return nil, nil, errorf(fk, "is required %s", need)
	case field == "" && format != "":
		return nil, nil, errorf(fk, "is required with %sDateFormat", which)
	case field != "" && format == "":
		return nil, nil, errorf(pk, "is required with %sDateField: a Java date pattern such as \"yyyy-MM-dd HH:mm:ss\", or \"milliseconds\"", which)
	}
	if field != "" {
		if e := checkDotPath(fk, field); e != nil {
			return nil, nil, e
		}
	}
	var p *javatime.Pattern
	if format != "" {
		var err error
		if p, err = javatime.Compile(format); err != nil {
			return nil, nil, errorf(pk, "bad date format: %v", err)
		}
	}
	if zone == "" {
		zone = "GMT"
	}
	loc, err := pollurl.LoadZone(zone)
	if err != nil {
		return nil, nil, errorf(zk, "%v", err)
	}
	if p == nil {
		return nil, nil, nil
	}
	return p, loc, nil
}

// Where renders the URL for the window [from, now] and returns its parsed
// where clause, nil when the URL has none. The poller passes the result to
// the hub (Conn.Scan, or its String form to Conn.List).
func (c *Compiled) Where(from, now time.Time) (ceql.Expr, error) {
	where, ok := c.whereText(from, now)
	if !ok {
		return nil, nil
	}
	e, err := ceql.Parse(where)
	if err != nil {
		return nil, fmt.Errorf("pollconfig: where %q: %w", clip(where), err)
	}
	return e, nil
}

// whereText renders the URL and extracts its first where parameter. The
// query is split by hand rather than with url.ParseQuery because Cloud
// Elements URLs hold raw spaces, quotes and '%' (LIKE '%x%') that
// ParseQuery would reject: parameters split on '&', name from value on the
// first '=', and only valid %XX escapes and '+' are decoded, as a hub
// receiving the rendered URL over HTTP would decode them.
func (c *Compiled) whereText(from, now time.Time) (string, bool) {
	_, query, ok := strings.Cut(c.Template.Render(from, now), "?")
	if !ok {
		return "", false
	}
	for part := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(part, "=")
		if unescape(k) == "where" {
			return unescape(v), true
		}
	}
	return "", false
}

// unescape decodes '+' as a space and valid %XX escapes, and keeps
// anything else, including a '%' not followed by two hex digits, as is.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '+':
			b.WriteByte(' ')
		case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// Updated reads a record's updated date through the configured dot path,
// pattern and zone. get is a dot-path lookup (the poller passes
// element.Record.Lookup). Strings are parsed with the pattern; numbers
// (json.Number, float64 or Go integers) are parsed from their decimal text,
// which is what the "milliseconds" format expects. The error wraps
// ErrNotConfigured when the resource has no updated date.
func (c *Compiled) Updated(get func(path string) (any, bool)) (time.Time, error) {
	return readDate(get, "updatedDateField", c.Config.Dates.UpdatedField, c.UpdatedFormat, c.UpdatedLoc)
}

// Created is Updated for the created date. Without a created date every
// event is UPDATED, so the poller should treat ErrNotConfigured as "not
// new" rather than as a failure.
func (c *Compiled) Created(get func(path string) (any, bool)) (time.Time, error) {
	return readDate(get, "createdDateField", c.Config.Dates.CreatedField, c.CreatedFormat, c.CreatedLoc)
}

func readDate(get func(string) (any, bool), key, path string, p *javatime.Pattern, loc *time.Location) (time.Time, error) {
	if p == nil {
		return time.Time{}, fmt.Errorf("pollconfig: %s: %w", key, ErrNotConfigured)
	}
	v, ok := get(path)
	if !ok {
		return time.Time{}, fmt.Errorf("pollconfig: record has no %s %q", key, path)
	}
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = v.String()
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case int64:
		s = strconv.FormatInt(v, 10)
	case int:
		s = strconv.Itoa(v)
	case nil:
		return time.Time{}, fmt.Errorf("pollconfig: record's %s %q is null", key, path)
	default:
		return time.Time{}, fmt.Errorf("pollconfig: record's %s %q is a %T, not a string or a number", key, path, v)
	}
	t, err := p.Parse(s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("pollconfig: record's %s %q: %w", key, path, err)
	}
	return t, nil
}
