// Package javatime formats and parses times with java.text.SimpleDateFormat
// patterns, because Cloud Elements poller configurations are written in that
// dialect and no Go layout translation reproduces it faithfully (counts as
// widths, the adjacent-number rule, two-digit years, S as milliseconds).
//
// The behaviour follows the SimpleDateFormat javadoc for the English locale,
// including its parsing habits: names match case-insensitively and in full
// or short form whatever the letter count; spaces and tabs before a number
// are skipped ("MMM d" reads "Jul  4"); a number next to another numeric
// field reads at most its letter count of characters, so "yyyyMMddHHmmss"
// works; y and yy read two digits relative to the current time (80 years
// back, 20 forward) and anything else literally. Deliberate differences,
// chosen because pollhook must reject bad data rather than guess:
//
//   - Parsing is strict, like a non-lenient SimpleDateFormat: every field is
//     range checked, E/u/D must agree with the date they describe, AM/PM
//     must agree with a 24-hour field, two zone fields must agree, and the
//     whole text must be consumed (Java's DateFormat.parse ignores trailing
//     text). A fraction written as SSSSSS ("123456") is therefore an error,
//     not 123 extra seconds. A weekday with no d or D in the pattern is not
//     checked, since there is no date to check it against.
//   - Dates use the proleptic Gregorian calendar, as Go does; Java switches
//     to the Julian calendar before 1582-10-15.
//   - A zone-less local time that falls in a daylight-saving gap or overlap
//     of the caller's location resolves as time.Date resolves it, which can
//     differ from java.util.Calendar by the size of the shift; it is not
//     rejected. Record dates are normally UTC, where this cannot happen.
//   - Only ASCII digits are numbers, and a leading minus sign is not
//     accepted; Java's DecimalFormat accepts both.
//   - Week-based letters (Y, w, W, F) are rejected at Compile time as
//     unsupported instead of being implemented.
//   - Time-zone names come from a small built-in table (see zonenames.go)
//     rather than the JDK's locale data; z falls back to "GMT+hh:mm" when a
//     zone has no alphabetic abbreviation, which is also what Java prints
//     for custom zones.
//
// The whole pattern "milliseconds" is not a SimpleDateFormat pattern (Java
// would reject the 'i') but Cloud Elements uses it as one meaning epoch
// milliseconds, so Compile accepts it with that meaning.
package javatime
