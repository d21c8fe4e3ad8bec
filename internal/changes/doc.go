// Package changes is the pure logic of change reports: what changed
// between two observed versions of a record, and whether a change is
// reported under a subscription's rules. It keeps no state and does no I/O:
// the caller stores each record's last observed version (its snapshot, as
// [Fields]) and passes it back in.
//
// # Fields
//
// A record is compared as a flat set of fields named as CEQL names them.
// Flattening is the element's business: a [Flatten] turns a raw record into
// fields (insightly.FieldsOf for Insightly, whose CUSTOMFIELDS entries
// become fields of their own; [TopLevel] for records whose top-level keys
// are the fields). Arrays and objects are one value each and are diffed as
// a whole.
//
// Values are compared in a canonical form ([Canonical]): compact JSON with
// object keys sorted, strings re-escaped minimally but otherwise exactly
// (case and whitespace inside strings matter), and numbers by their exact
// decimal value, so 10, 10.0 and 1e1 are one value while 0.1 and 0.10000001
// are not; numbers are not rounded through float64, so large IDs stay
// exact. A field that is absent and a field that is null are the same
// value: CEQL treats both as NULL, Insightly omits empty custom fields, and
// a [Change] writes an absent side as null.
//
// # Names
//
// Field names follow CEQL as the Insightly element evaluates it: native
// names (OPPORTUNITY_STATE) match exactly, and custom field names (ending
// in __c, any case) match case-insensitively, so a rule or filter naming
// stage__c finds Stage__c. [Diff] itself compares names exactly: a
// flattener spells each field the same way in every version.
//
// # Rules
//
// [Rules] holds a subscription's triggers: Fields, IgnoreFields and a CEQL
// Filter. [Rules.Reports] decides an UPDATED on its diff,
// [Rules.FilterReports] decides any event on the filter's result before
// and after, and [Rules.Decide] combines them for one observed event.
package changes
