// Package pollurl compiles and renders Cloud Elements poller URL templates,
// the "${...}" date variables in a poller's resource URL, because pollhook
// must produce exactly the query a Cloud Elements poller would have sent.
//
// Variables (from Cloud Elements' "Resource URL Date Format" docs and
// element definitions seen in the wild):
//
//	${gmtDate:<fmt>}              from, in GMT, with Java pattern fmt
//	${date:<fmt>}                 from, in the server zone, which is UTC
//	${date}                       from, as epoch milliseconds
//	${dateTimeZone:<zone>:<fmt>}  from, in zone
//	${nowTimeZone:<zone>:<fmt>}   now, in zone
//	${epoch}, ${epoch:ms}         from, as Unix milliseconds
//	${epoch:s}, ${epoch:0}        from, as whole Unix seconds
//	${epoch:us}                   from, as Unix microseconds
//	${milliseconds}               from, as Unix milliseconds
//
// from is the start of the poll window (last successful poll start minus
// pollDelay) and now is the start of the current run, the window's end.
//
// Choices where Cloud Elements is silent or ambiguous:
//
//   - ${date:<fmt>} uses UTC: Cloud Elements renders it in its server zone
//     and documents that "unless configured for a specific time zone,
//     polling occurs in UTC".
//   - Bare ${date} renders epoch milliseconds, because Cloud Elements'
//     HubSpot examples pair it with the milliseconds format.
//   - ${epoch:0} renders whole seconds: its only known use is an
//     undocumented element export, and "0" reads most naturally as "no
//     fractional digits".
//   - <fmt> is a java.text.SimpleDateFormat pattern (see package javatime),
//     or "milliseconds" for epoch milliseconds. It may contain ':' and
//     quotes: only the first colon after gmtDate/date separates, and for
//     dateTimeZone/nowTimeZone the first two do, except that a zone written
//     as an offset keeps its colon (${dateTimeZone:-8:00:HH:mm} is zone
//     "-8:00", format "HH:mm").
//   - A variable ends at the first '}' that closes it; braces inside nest,
//     and quotes in the format do not protect a '}' (write it outside the
//     variable instead).
//   - Zone names follow java.util.TimeZone.getTimeZone where Java knows the
//     name and the evident meaning where Java would silently fall back to
//     GMT; see zone.go for the table. Unknown zones are errors rather than
//     Java's silent GMT.
//   - Text outside "${...}", including "{objectName}"-style path
//     parameters and a lone '$', is copied verbatim. Placeholders that
//     Cloud Elements fills from instance configuration before the template
//     is evaluated (Zoho's ${dateTimeZone:{TimeZone}:...}) must be
//     substituted by the caller before Parse.
package pollurl
