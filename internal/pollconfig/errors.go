package pollconfig

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Key is the instance configuration key this package reads, and the root of
// every Error.Field.
const Key = "event.poller.configuration"

// Error is a validation failure. The instance API answers it with a 400
// whose message names Field, the full dotted path of the offending value
// ("event.poller.configuration.contacts.datesConfiguration.updatedDateFormat"),
// so that a client can find the mistake in a configuration of many
// resources without guessing.
type Error struct {
	// Field is the dotted path of the offending value, starting with Key.
	// A problem with the JSON as a whole or with a resource name is
	// reported on Key itself.
	Field string
	// Message says what is wrong and, where it helps, how to fix it. It
	// never repeats Field.
	Message string
}

// Error returns "Field: Message".
func (e *Error) Error() string { return e.Field + ": " + e.Message }

// ErrNotConfigured is returned (wrapped) by Compiled.Updated and
// Compiled.Created when the resource has no such date field, so the poller
// can tell "not configured" (treat every event as UPDATED) from a bad
// record.
var ErrNotConfigured = errors.New("date field not configured")

func errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// unknownKey builds the error for a key that is not in known. Cloud
// Elements' own docs misspell keys (filterByUpdateDate), and an ignored
// misspelling would silently change polling, so the error suggests the
// nearest known key.
func unknownKey(field, key string, known []string) *Error {
	if s, ok := suggest(key, known); ok {
		return errorf(field, "unknown key %q; did you mean %q?", key, s)
	}
	return errorf(field, "unknown key %q; known keys: %s", key, strings.Join(known, ", "))
}

// suggest returns the known key nearest to key when it is within edit
// distance 2, ignoring case (a case slip is distance 0 and always
// suggested). Ties go to the earlier key in known, which is in a fixed
// order, so the suggestion is deterministic.
func suggest(key string, known []string) (string, bool) {
	best, bestDist := "", 3
	lk := strings.ToLower(key)
	for _, k := range known {
		if d := editDistance(lk, strings.ToLower(k), bestDist); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance between a and b
// (insertions, deletions, substitutions and adjacent transpositions, so
// "idFeild" is one edit from "idField"), computed over bytes. It returns
// limit as soon as the distance is known to be at least limit, which keeps
// a hostile multi-kilobyte key cheap.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}

// truncate shortens s to at most n bytes plus "…", on a rune boundary, so
// that a hostile multi-kilobyte value does not flood an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
