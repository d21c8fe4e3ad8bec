package pollconfig

import "encoding/json"

// Length limits of the free-text values, in bytes. Each is far above any
// real value (Cloud Elements' longest published URL is under 200 bytes,
// its date patterns under 30) and bounds what compiling, rendering and
// error messages cost. Compile refuses a longer value, naming its field,
// before doing anything else with it.
const (
	// MaxURLLength bounds url, and with it the where clause (CEQL) and the
	// date patterns of the ${…} templates inside it.
	MaxURLLength = 2048
	// MaxDatePatternLength bounds updatedDateFormat and createdDateFormat.
	MaxDatePatternLength = 100
	// MaxPathLength bounds the dot paths idField, updatedDateField and
	// createdDateField.
	MaxPathLength = 200
	// MaxZoneLength bounds updatedDateTimezone and createdDateTimezone;
	// the longest IANA name has 32 bytes.
	MaxZoneLength = 64
	// MaxBytes is the largest configuration the instance API accepts
	// (256 KiB). Parse itself does not check it, so that a stored
	// configuration whose canonical form grew a little (empty resources
	// expanded from defaults) still parses; callers bound their input.
	MaxBytes = 256 << 10
)

// checkLength refuses a value longer than max bytes.
func checkLength(field, v string, max int) *Error {
	if len(v) > max {
		return errorf(field, "is %d bytes long; at most %d", len(v), max)
	}
	return nil
}

// Count returns how many resources value configures, without checking
// them, so that a caller can bound the number before Parse compiles each.
// Any problem with value is reported as Parse reports it.
func Count(value json.RawMessage) (int, error) {
	top, e := topLevel(value)
	if e != nil {
		return 0, e
	}
	return len(top), nil
}
