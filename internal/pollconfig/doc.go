// Package pollconfig parses, validates and compiles an element instance's
// event.poller.configuration, Cloud Elements' per-resource polling
// configuration, because the instance API must reject a bad configuration
// with a 400 naming the exact field before storing anything, and the poller
// needs a typed form that cannot fail at poll time.
//
// The value is a JSON object, or a JSON string holding one (Cloud Elements'
// examples use both), mapping hub resource names to their configuration:
//
//	{"contacts": {
//	  "url": "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
//	  "idField": "CONTACT_ID",
//	  "datesConfiguration": {
//	    "updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss",
//	    "createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}}}
//
// # Keys
//
// Cloud Elements keys: url (required), idField (required),
// datesConfiguration (updatedDateField, updatedDateFormat,
// updatedDateTimezone, createdDateField, createdDateFormat,
// createdDateTimezone), filterByUpdatedDate (default true),
// filterByCurrentDate (default false), createdCheckTolerance (seconds,
// default 10), pageSize (default 500), pollDelay (seconds, default 0).
//
// pollhook extensions: overlap (seconds, default 60), extra look-back to
// catch records that become visible late; deletes, {"scanEveryMinutes": 60,
// "maxMissingShare": 0.2}, opt-in delete detection by a scan of record ids
// every scanEveryMinutes (giving the object turns it on; "enabled": false
// keeps the settings and turns it off); snapshots (default false), keep
// each record's last observed version (it needs delete detection: without
// a deletes object it turns it on with the defaults, and "deletes":
// {"enabled": false} beside it is an error); fields and ignoreFields
// (arrays of field names, both need snapshots: report an UPDATED only when
// one of fields changed, and not when all changes fall in ignoreFields; at
// most MaxFieldNames non-empty, distinct names each, none in both); filter
// (a CEQL predicate, at most MaxFilterLength bytes, parsed by ceql.Parse
// into Compiled.Filter; a syntax error names its byte position). The
// behaviour behind these four keys is the poller's; this package only makes
// the configuration exact.
//
// Accepted and ignored (kept so the stored configuration round-trips; see
// IgnoredKeys): batchSize, postHooks, postHookPipelines, useLastPollDate,
// useHydrationBeforePostHooks, objectName, parameters, and a resource-level
// updatedDateTimezone (a stray key in a published Cloud Elements example:
// only datesConfiguration's zones are used).
//
// Any other key is an error naming it, with a "did you mean" suggestion
// within edit distance 2 (Cloud Elements' own docs misspell
// filterByUpdatedDate as filterByUpdateDate, which Cloud Elements would
// silently ignore).
//
// # Choices where Cloud Elements is silent or lenient
//
//   - Booleans may be the strings "true" and "false" (any case) and whole
//     numbers may be numeric strings ("60"), as in Cloud Elements' exports;
//     the stored form writes them as JSON booleans and numbers. Fractions
//     and exponents ("1.5", 1e3) are errors, not rounded. JSON null means
//     "use the default".
//   - pageSize above 500 (Insightly's largest page) is clamped to 500, not
//     rejected: Cloud Elements' own example uses 10000. Below 1 is an error.
//   - Seconds keys are bounded by a week (MaxSeconds), deletes.scanEveryMinutes by
//     30 days, so nothing overflows and gross unit mistakes are caught.
//   - Dates: the updated date (field and format) is required when
//     filterByUpdatedDate is true or filterByCurrentDate is true; the
//     created date when filterByUpdatedDate is false, since records are then
//     filtered by creation. Otherwise the created date is optional and
//     without it every event is UPDATED. A field needs its format and vice
//     versa. Zones default to GMT and resolve like URL template zones
//     (pollurl.LoadZone: IANA names, Java's short IDs, offsets); an unknown
//     zone is an error rather than Java's silent GMT. A format is a Java
//     SimpleDateFormat pattern (package javatime) or "milliseconds"; an
//     unterminated quote, as in a published Cloud Elements example
//     ("yyyy-MM-dd'T'HH:mm:ssXXX'"), is an error naming the field.
//   - url must be /hubs/<hub>/<resource>[?query]. Templates are allowed only
//     in the where parameter (pollhook passes nothing else through
//     rendered); the where clause, rendered for a sample window, must be
//     valid CEQL. A URL without where is allowed: the poller then reads the
//     whole resource and filters by date itself. Parameters split on '&'
//     and '=', and only %XX escapes and '+' are decoded, because Cloud
//     Elements URLs carry raw spaces and quotes.
//   - Free text is bounded (see MaxURLLength and the constants beside it):
//     url 2,048 bytes (which bounds its where clause and templates), date
//     patterns 100, dot paths 200, zones 64. A longer value is an error
//     naming its field, found before the value is compiled. The instance
//     API also bounds the whole configuration (MaxBytes, 256 KiB) and the
//     number of resources.
//   - Resource names are 1 to 100 bytes of letters, digits and _ . / { } -,
//     so path templates such as "{objectName}" fit.
//   - A resource given as {} takes the element's default of the same name;
//     there is no merging of a partial resource with the default.
//   - Duplicate keys are errors (Java and Go would keep the last one and
//     the stored form would silently lose the other).
//   - Errors report every problem found (Errors), resources in name
//     order, unknown keys before the others, then keys in the order of
//     the list above; the first is the one a check stopping at the first
//     problem would report. A resource with unknown keys or values of the
//     wrong type is not compiled further.
package pollconfig
