package pollconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Defaults and limits of the per-resource keys. They are exported so the
// API documentation and the poller quote the same numbers as the parser.
const (
	// DefaultPageSize is the page size when pageSize is absent: Insightly's
	// largest page ("top" is at most 500), since fewer requests is better
	// for a poller sharing the account's rate limit.
	DefaultPageSize = 500
	// MaxPageSize is the largest pageSize; larger values are clamped to it.
	MaxPageSize = 500
	// DefaultCreatedCheckTolerance is createdCheckTolerance's default, as in
	// Cloud Elements.
	DefaultCreatedCheckTolerance = 10 * time.Second
	// DefaultOverlap is the default of pollhook's overlap extension.
	DefaultOverlap = 60 * time.Second
	// MaxSeconds bounds every key given in seconds (createdCheckTolerance,
	// pollDelay, overlap): a week, far beyond any sensible value but small
	// enough that no arithmetic on it overflows.
	MaxSeconds = 7 * 24 * 60 * 60
	// DefaultDeleteInterval is how often delete detection scans by default.
	DefaultDeleteInterval = time.Hour
	// MaxDeleteIntervalMinutes bounds deletes.interval: 30 days.
	MaxDeleteIntervalMinutes = 30 * 24 * 60
	// DefaultMaxMissingRatio is deletes.maxMissingShare's default.
	DefaultMaxMissingRatio = 0.2
	// MaxFieldNames bounds the number of names in fields and in
	// ignoreFields.
	MaxFieldNames = 100
	// MaxFilterLength bounds filter, in bytes.
	MaxFilterLength = 2000
)

// Config is a parsed event.poller.configuration: the poller configuration of
// each hub resource an instance polls. Build it with Parse; the zero value
// has no resources and does not validate.
type Config struct {
	// Resources maps the resource name (the configuration's key, which
	// becomes objectType in events) to its configuration; every value's
	// Name equals its key.
	Resources map[string]*Resource
}

// Resource is the poller configuration of one resource, with defaults
// applied, so that the poller never has to know which keys were given.
type Resource struct {
	// Name is the resource's key in the configuration ("contacts",
	// "{objectName}"). Error fields are built from it.
	Name string
	// URL is the hub-relative find URL template, as written.
	URL string
	// IDField is the dot path to the record id ("CONTACT_ID", "user.id").
	IDField string
	// Dates says where and how records carry their dates.
	Dates Dates
	// FilterByUpdatedDate (default true) selects records by updated date;
	// when false they are selected by created date, so only creations are
	// reported.
	FilterByUpdatedDate bool
	// FilterByCurrentDate (default false) skips records updated after the
	// poll started; the next poll reports them.
	FilterByCurrentDate bool
	// CreatedCheckTolerance: a record is CREATED when its updated and
	// created dates differ by at most this much. Whole seconds.
	CreatedCheckTolerance time.Duration
	// PageSize is the number of records per page while polling, 1 to
	// MaxPageSize.
	PageSize int
	// PollDelay is subtracted from the window start, for upstreams whose
	// search index lags behind writes. Whole seconds.
	PollDelay time.Duration
	// Overlap (pollhook extension) is extra look-back on top of PollDelay,
	// to catch records that become visible late; records already reported
	// are recognised by the poller and not reported twice. Whole seconds.
	Overlap time.Duration
	// Deletes configures delete detection (pollhook extension).
	Deletes Deletes
	// Snapshots (pollhook extension, default false) keeps each record's
	// last observed version, so that changes can be diffed field by field.
	// It needs delete detection: a resource with snapshots and no deletes
	// object gets Deletes.Enabled with the default settings, and an
	// explicit "deletes": {"enabled": false} is an error.
	Snapshots bool
	// Fields (pollhook extension, needs Snapshots): an UPDATED is reported
	// only when one of these fields changed. Nil means every change counts.
	Fields []string
	// IgnoreFields (pollhook extension, needs Snapshots): an UPDATED whose
	// changes all fall in these fields is not reported. No name may be in
	// both Fields and IgnoreFields.
	IgnoreFields []string
	// Filter (pollhook extension) is a CEQL predicate on the record
	// selecting which changes are reported; empty means all. It works
	// without Snapshots. Compiled.Filter holds it parsed.
	Filter string
	// Extra holds the Cloud Elements keys pollhook accepts but does not
	// implement (see IgnoredKeys), as canonical JSON, so that a stored
	// configuration reads back as the client wrote it. Nil when there are
	// none.
	Extra map[string]json.RawMessage
}

// Dates is a resource's datesConfiguration: the dot paths of the record's
// updated and created dates, their java.text.SimpleDateFormat patterns (or
// "milliseconds" for epoch milliseconds) and the zones used when a date
// carries none. An empty zone means GMT.
type Dates struct {
	UpdatedField, UpdatedFormat, UpdatedTimezone string
	CreatedField, CreatedFormat, CreatedTimezone string
}

// Deletes is pollhook's delete detection: Cloud Elements' polling cannot see
// deletions, so when enabled the poller periodically lists every record id
// and reports the ids that disappeared as DELETED.
type Deletes struct {
	// Enabled turns detection on; it costs a full id scan per Interval.
	Enabled bool
	// Interval is the time between scans, whole minutes, default one hour.
	Interval time.Duration
	// MaxMissingRatio is a safety stop: when a larger share of known ids
	// vanishes in one scan, the scan is assumed broken (a permission
	// change, a truncated listing) and no deletes are reported. In (0, 1].
	MaxMissingRatio float64
}

// Keys pollhook understands, in the fixed order in which they are checked
// and errors are reported.
var (
	resourceKeys = []string{"url", "idField", "datesConfiguration", "filterByUpdatedDate",
		"filterByCurrentDate", "createdCheckTolerance", "pageSize", "pollDelay", "overlap", "deletes",
		"snapshots", "fields", "ignoreFields", "filter"}
	datesKeys = []string{"updatedDateField", "updatedDateFormat", "updatedDateTimezone",
		"createdDateField", "createdDateFormat", "createdDateTimezone"}
	deletesKeys = []string{"enabled", "scanEveryMinutes", "maxMissingShare"}
)

// IgnoredKeys are per-resource keys of Cloud Elements' (and its successor's)
// poller that pollhook accepts, keeps in Resource.Extra and otherwise
// ignores: batching, hooks and hydration run in Cloud Elements' platform,
// which pollhook does not reproduce. updatedDateTimezone appears at the
// resource level in a published Cloud Elements example; there it is
// ignored too, and only datesConfiguration.updatedDateTimezone counts.
var IgnoredKeys = []string{"batchSize", "postHooks", "postHookPipelines", "useLastPollDate",
	"useHydrationBeforePostHooks", "objectName", "parameters", "updatedDateTimezone"}

// newResource returns a resource with every default applied.
func newResource(name string) *Resource {
	return &Resource{
		Name:                  name,
		FilterByUpdatedDate:   true,
		CreatedCheckTolerance: DefaultCreatedCheckTolerance,
		PageSize:              DefaultPageSize,
		Overlap:               DefaultOverlap,
		Deletes:               Deletes{Interval: DefaultDeleteInterval, MaxMissingRatio: DefaultMaxMissingRatio},
	}
}

// Parse reads event.poller.configuration given as a JSON object or as a JSON
// string holding one (Cloud Elements' examples use both, and its instance
// API stores configuration values as strings).
//
// defaults is the element's default configuration in the same format. A
// resource given as {} takes the default of the same name, as Cloud
// Elements' Insightly documentation does for leads and opportunities; an
// empty resource without a default is an error. A non-empty resource is
// complete on its own: it is not merged with the default.
//
// Every problem in value is reported as an *Error naming the field, all
// of them together as Errors: resources in name order and keys in a fixed
// order, so the same input always gives the same answer, and the first
// one is what a check stopping at the first problem would report. A
// problem that makes the rest unreadable (the JSON itself, the top-level
// shape) is reported alone; a resource whose keys or types are wrong is
// not compiled, since its values would only repeat the same mistakes.
// Each resource is also compiled (see Resource.Compile), so a
// configuration Parse accepts can be polled. A non-*Error error means
// defaults itself is invalid, which is a bug in the element rather than in
// the client's request.
func Parse(value json.RawMessage, defaults json.RawMessage) (*Config, error) {
	top, e := topLevel(value)
	if e != nil {
		return nil, Errors{e}
	}
	if len(top) == 0 {
		return nil, Errors{errorf(Key, "configures no resources; give at least one, e.g. {\"contacts\": {...}}")}
	}
	slices.SortStableFunc(top, func(a, b member) int { return strings.Compare(a.key, b.key) })
	var errs Errors
	bad := map[string]bool{}
	for i, m := range top {
		if e := checkName(m.key); e != nil {
			errs, bad[m.key] = append(errs, e), true
			continue
		}
		if i > 0 && top[i-1].key == m.key && !bad[m.key] {
			errs, bad[m.key] = append(errs, errorf(Key+"."+m.key, "duplicate resource")), true
		}
	}
	cfg := &Config{Resources: make(map[string]*Resource, len(top))}
	var defs *Config
	for _, m := range top {
		if bad[m.key] {
			continue
		}
		path := Key + "." + m.key
		if empty(m.val) {
			if defs == nil {
				var err error
				if defs, err = parseDefaults(defaults); err != nil {
					return nil, err
				}
			}
			d, ok := defs.Resources[m.key]
			if !ok {
				errs = append(errs, errorf(path, "is empty and the element has no default configuration for %q; give at least url, idField and datesConfiguration", m.key))
				continue
			}
			cfg.Resources[m.key] = d.clone()
			continue
		}
		val := m.val
		if merged, ok := overDefault(m.val, defaults, m.key); ok {
			val = merged
		}
		r, es := decodeResource(m.key, val)
		if len(es) > 0 {
			errs = append(errs, es...)
			continue
		}
		if _, err := r.Compile(); err != nil {
			var ces Errors
			if !errors.As(err, &ces) {
				return nil, err
			}
			errs = append(errs, ces...)
			continue
		}
		cfg.Resources[m.key] = r
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// overDefault merges a partial resource configuration (an object without
// url: `"contacts": {"deletes": {…}}`) over the element's default for that
// resource, its keys replacing the default's. With a url the configuration
// is taken as it is, so an omitted createdDateField still means "UPDATED
// only"; without a default there is nothing to merge over.
func overDefault(val, defaults json.RawMessage, name string) (json.RawMessage, bool) {
	if kind(val) != "object" || len(bytes.TrimSpace(defaults)) == 0 {
		return nil, false
	}
	given, err := members(val)
	if err != nil || slices.ContainsFunc(given, func(m member) bool { return m.key == "url" }) {
		return nil, false
	}
	top, e := topLevel(defaults)
	if e != nil {
		return nil, false
	}
	i := slices.IndexFunc(top, func(m member) bool { return m.key == name })
	if i < 0 || kind(top[i].val) != "object" {
		return nil, false
	}
	base, err := members(top[i].val)
	if err != nil {
		return nil, false
	}
	for _, g := range given {
		if j := slices.IndexFunc(base, func(m member) bool { return m.key == g.key }); j >= 0 {
			base[j].val = g.val
		} else {
			base = append(base, g)
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range base {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes(), true
}

// parseDefaults parses the element's default configuration; nil or empty
// means the element has none.
func parseDefaults(defaults json.RawMessage) (*Config, error) {
	if len(bytes.TrimSpace(defaults)) == 0 {
		return &Config{}, nil
	}
	defs, err := Parse(defaults, nil)
	if err != nil {
		return nil, fmt.Errorf("pollconfig: the element's default configuration is invalid: %w", err)
	}
	return defs, nil
}

// topLevel unwraps the string form and returns the members of the
// configuration object.
func topLevel(value json.RawMessage) ([]member, *Error) {
	const want = "a JSON object mapping resource names to poller configurations"
	if len(bytes.TrimSpace(value)) == 0 {
		return nil, errorf(Key, "is empty; expected %s", want)
	}
	var raw json.RawMessage
	if err := json.Unmarshal(value, &raw); err != nil {
		return nil, syntaxError(err, "")
	}
	if kind(value) == "string" {
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return nil, syntaxError(err, "")
		}
		inner := []byte(s)
		if len(bytes.TrimSpace(inner)) == 0 {
			return nil, errorf(Key, "is an empty string; expected %s, or a string holding one", want)
		}
		if err := json.Unmarshal(inner, &raw); err != nil {
			return nil, syntaxError(err, " inside the JSON string (offset counts the string's decoded text)")
		}
		if k := kind(inner); k != "object" {
			return nil, errorf(Key, "is a JSON string holding a %s; expected it to hold %s", k, want)
		}
		value = inner
	}
	if k := kind(value); k != "object" {
		return nil, errorf(Key, "must be %s (or a JSON string holding one), found %s", want, found(value))
	}
	ms, err := members(value)
	if err != nil {
		return nil, errorf(Key, "invalid JSON: %v", err)
	}
	return ms, nil
}

// syntaxError reports where the JSON broke, so a client can find the
// mistake in a long hand-edited configuration.
func syntaxError(err error, where string) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, which include the offending
		// character; point at the character itself.
		off := se.Offset
		if strings.HasPrefix(se.Error(), "invalid character") && off > 0 {
			off--
		}
		return errorf(Key, "invalid JSON at byte offset %d%s: %v", off, where, se)
	}
	return errorf(Key, "invalid JSON%s: %v", where, err)
}

// empty reports whether raw is the object {} (with any spacing).
func empty(raw json.RawMessage) bool {
	if kind(raw) != "object" {
		return false
	}
	ms, err := members(raw)
	return err == nil && len(ms) == 0
}

// maxNameLen bounds resource names, which end up in events and log lines.
const maxNameLen = 100

// checkName validates a resource name: a hub resource name, possibly a path
// with {placeholders} ("calendars/{calendarId}/changed-events").
func checkName(name string) *Error {
	switch {
	case name == "":
		return errorf(Key, "resource name is empty")
	case len(name) > maxNameLen:
		return errorf(Key, "resource name %q is longer than %d bytes", truncate(name, maxNameLen), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return errorf(Key, "resource name %q contains %q; use letters, digits and _ . / { } -", name, rune(name[i]))
		}
	}
	return nil
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_./{}-", c) >= 0
}

// decodeResource checks a resource object's keys and types and applies the
// defaults; Compile checks the values.
func decodeResource(name string, raw json.RawMessage) (*Resource, Errors) {
	path := Key + "." + name
	ms, e := objectMembers(path, raw)
	if e != nil {
		return nil, Errors{e}
	}
	var errs Errors
	vals := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		vals[m.key] = m.val
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if slices.Contains(resourceKeys, k) || slices.Contains(IgnoredKeys, k) {
			continue
		}
		if slices.Contains(datesKeys, k) {
			errs.add(errorf(path+"."+k, "unknown key %q at the resource level; it belongs in datesConfiguration", k))
			continue
		}
		errs.add(unknownKey(path+"."+k, k, append(slices.Clone(resourceKeys), IgnoredKeys...)))
	}

	r := newResource(name)
	for _, k := range resourceKeys {
		v, ok := vals[k]
		if !ok || isNull(v) {
			continue
		}
		f := path + "." + k
		var e *Error
		switch k {
		case "url":
			r.URL, e = decodeString(f, v)
		case "idField":
			r.IDField, e = decodeString(f, v)
		case "datesConfiguration":
			var des Errors
			r.Dates, des = decodeDates(f, v)
			errs = append(errs, des...)
		case "filterByUpdatedDate":
			r.FilterByUpdatedDate, e = decodeBool(f, v)
		case "filterByCurrentDate":
			r.FilterByCurrentDate, e = decodeBool(f, v)
		case "createdCheckTolerance":
			r.CreatedCheckTolerance, e = decodeSeconds(f, v)
		case "pageSize":
			r.PageSize, e = decodePageSize(f, v)
		case "pollDelay":
			r.PollDelay, e = decodeSeconds(f, v)
		case "overlap":
			r.Overlap, e = decodeSeconds(f, v)
		case "deletes":
			r.Deletes, e = decodeDeletes(f, v)
		case "snapshots":
			r.Snapshots, e = decodeBool(f, v)
		case "fields":
			r.Fields, e = decodeStrings(f, v)
		case "ignoreFields":
			r.IgnoreFields, e = decodeStrings(f, v)
		case "filter":
			r.Filter, e = decodeString(f, v)
		}
		errs.add(e)
	}
	// Snapshots need delete detection: without a deletes object it is on,
	// with the default settings. An explicit "enabled": false stays, and
	// Compile reports the contradiction.
	if v, ok := vals["deletes"]; r.Snapshots && (!ok || isNull(v)) {
		r.Deletes.Enabled = true
	}
	for _, k := range IgnoredKeys {
		v, ok := vals[k]
		if !ok {
			continue
		}
		c, err := canonicalJSON(v)
		if err != nil {
			errs.add(errorf(path+"."+k, "invalid JSON: %v", err))
			continue
		}
		if r.Extra == nil {
			r.Extra = map[string]json.RawMessage{}
		}
		r.Extra[k] = c
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

func decodeDates(path string, raw json.RawMessage) (Dates, Errors) {
	ms, e := objectMembers(path, raw)
	if e != nil {
		return Dates{}, Errors{e}
	}
	var errs Errors
	vals := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		vals[m.key] = m.val
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if !slices.Contains(datesKeys, k) {
			errs.add(unknownKey(path+"."+k, k, datesKeys))
		}
	}
	var d Dates
	dst := []*string{&d.UpdatedField, &d.UpdatedFormat, &d.UpdatedTimezone, &d.CreatedField, &d.CreatedFormat, &d.CreatedTimezone}
	for i, k := range datesKeys {
		v, ok := vals[k]
		if !ok || isNull(v) {
			continue
		}
		s, e := decodeString(path+"."+k, v)
		if e != nil {
			errs.add(e)
			continue
		}
		*dst[i] = s
	}
	return d, errs
}

func decodeDeletes(path string, raw json.RawMessage) (Deletes, *Error) {
	// Giving a deletes object turns detection on; "enabled": false keeps
	// the settings but turns it off.
	d := Deletes{Enabled: true, Interval: DefaultDeleteInterval, MaxMissingRatio: DefaultMaxMissingRatio}
	ms, e := objectMembers(path, raw)
	if e != nil {
		return d, e
	}
	vals := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		vals[m.key] = m.val
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		if !slices.Contains(deletesKeys, k) {
			return d, unknownKey(path+"."+k, k, deletesKeys)
		}
	}
	for _, k := range deletesKeys {
		v, ok := vals[k]
		if !ok || isNull(v) {
			continue
		}
		f := path + "." + k
		switch k {
		case "enabled":
			d.Enabled, e = decodeBool(f, v)
		case "scanEveryMinutes":
			var n int64
			if n, e = decodeInt(f, v); e == nil {
				if e = checkRange(f, n, 1, MaxDeleteIntervalMinutes, "minutes"); e == nil {
					d.Interval = time.Duration(n) * time.Minute
				}
			}
		case "maxMissingShare":
			d.MaxMissingRatio, e = decodeFloat(f, v)
			if e == nil {
				e = checkRatio(f, d.MaxMissingRatio)
			}
		}
		if e != nil {
			return d, e
		}
	}
	return d, nil
}

// decodeSeconds reads a whole number of seconds in [0, MaxSeconds].
func decodeSeconds(path string, raw json.RawMessage) (time.Duration, *Error) {
	n, e := decodeInt(path, raw)
	if e != nil {
		return 0, e
	}
	if e := checkRange(path, n, 0, MaxSeconds, "seconds"); e != nil {
		return 0, e
	}
	return time.Duration(n) * time.Second, nil
}

// decodePageSize clamps values above MaxPageSize instead of rejecting them:
// Cloud Elements accepted its own documented example with pageSize 10000,
// and a smaller page only means more requests.
func decodePageSize(path string, raw json.RawMessage) (int, *Error) {
	n, e := decodeInt(path, raw)
	if e != nil {
		return 0, e
	}
	if n < 1 {
		return 0, errorf(path, "must be between 1 and %d, found %d", MaxPageSize, n)
	}
	return int(min(n, MaxPageSize)), nil
}

func checkRange(path string, n, lo, hi int64, unit string) *Error {
	if n < lo || n > hi {
		return errorf(path, "must be between %d and %d %s, found %d", lo, hi, unit, n)
	}
	return nil
}

func checkRatio(path string, f float64) *Error {
	if !(f > 0 && f <= 1) {
		return errorf(path, "must be greater than 0 and at most 1, found %v", f)
	}
	return nil
}

// clone copies r deeply enough that changing the copy's Extra, Fields or
// IgnoreFields does not change r.
func (r *Resource) clone() *Resource {
	c := *r
	c.Fields, c.IgnoreFields = slices.Clone(r.Fields), slices.Clone(r.IgnoreFields)
	if r.Extra != nil {
		c.Extra = make(map[string]json.RawMessage, len(r.Extra))
		for k, v := range r.Extra {
			c.Extra[k] = slices.Clone(v)
		}
	}
	return &c
}

// Names returns the resource names in sorted order, the order in which the
// poller visits them and Parse reports errors.
func (c *Config) Names() []string {
	return slices.Sorted(maps.Keys(c.Resources))
}

// MarshalJSON returns the canonical form pollhook stores: compact, object
// keys sorted, values normalised (booleans and numbers given as strings
// become JSON booleans and numbers; empty resources are expanded from the
// defaults) and keys whose value is the default omitted, so that the stored
// configuration reads like the Cloud Elements configuration it came from.
// Parse of the result gives back an equal Config.
//
// MarshalJSON leaves "<", ">" and "&" as they are, so URLs stay readable;
// json.Marshal re-escapes a Marshaler's output as \u003c, \u003e and
// \u0026, which is equivalent JSON but not this canonical text, so store
// the result of calling MarshalJSON directly.
func (c *Config) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(c.Resources))
	for name, r := range c.Resources {
		o, err := r.object()
		if err != nil {
			return nil, fmt.Errorf("pollconfig: resource %q: %w", name, err)
		}
		out[name] = o
	}
	return marshal(out)
}

// UnmarshalJSON is Parse without element defaults, so a Config can be a
// field of a stored JSON document.
func (c *Config) UnmarshalJSON(b []byte) error {
	p, err := Parse(b, nil)
	if err != nil {
		return err
	}
	*c = *p
	return nil
}

// object is r as the JSON object MarshalJSON writes.
func (r *Resource) object() (map[string]any, error) {
	o := map[string]any{"url": r.URL, "idField": r.IDField}
	dates := map[string]any{}
	for i, v := range []string{r.Dates.UpdatedField, r.Dates.UpdatedFormat, r.Dates.UpdatedTimezone,
		r.Dates.CreatedField, r.Dates.CreatedFormat, r.Dates.CreatedTimezone} {
		if v != "" {
			dates[datesKeys[i]] = v
		}
	}
	if len(dates) > 0 {
		o["datesConfiguration"] = dates
	}
	if !r.FilterByUpdatedDate {
		o["filterByUpdatedDate"] = false
	}
	if r.FilterByCurrentDate {
		o["filterByCurrentDate"] = true
	}
	if r.PageSize != DefaultPageSize {
		o["pageSize"] = r.PageSize
	}
	for _, d := range []struct {
		key string
		val time.Duration
		def time.Duration
	}{
		{"createdCheckTolerance", r.CreatedCheckTolerance, DefaultCreatedCheckTolerance},
		{"pollDelay", r.PollDelay, 0},
		{"overlap", r.Overlap, DefaultOverlap},
	} {
		if d.val == d.def {
			continue
		}
		if d.val%time.Second != 0 {
			return nil, fmt.Errorf("%s %v is not a whole number of seconds", d.key, d.val)
		}
		o[d.key] = int64(d.val / time.Second)
	}
	del := map[string]any{}
	if r.Deletes.Interval != DefaultDeleteInterval {
		if r.Deletes.Interval%time.Minute != 0 {
			return nil, fmt.Errorf("deletes.scanEveryMinutes %v is not a whole number of minutes", r.Deletes.Interval)
		}
		del["scanEveryMinutes"] = int64(r.Deletes.Interval / time.Minute)
	}
	if r.Deletes.MaxMissingRatio != DefaultMaxMissingRatio {
		del["maxMissingShare"] = r.Deletes.MaxMissingRatio
	}
	// With snapshots, detection with default settings is implied and the
	// deletes object is omitted.
	if len(del) > 0 || r.Deletes.Enabled && !r.Snapshots || !r.Deletes.Enabled && r.Snapshots {
		if !r.Deletes.Enabled {
			del["enabled"] = false
		}
		o["deletes"] = del
	}
	if r.Snapshots {
		o["snapshots"] = true
	}
	if len(r.Fields) > 0 {
		o["fields"] = r.Fields
	}
	if len(r.IgnoreFields) > 0 {
		o["ignoreFields"] = r.IgnoreFields
	}
	if r.Filter != "" {
		o["filter"] = r.Filter
	}
	for k, v := range r.Extra {
		if !slices.Contains(IgnoredKeys, k) {
			return nil, fmt.Errorf("extra key %q is not one of the ignored Cloud Elements keys", k)
		}
		o[k] = v
	}
	return o, nil
}
