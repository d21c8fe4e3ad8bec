package pollconfig

import (
	"errors"
	"fmt"
	"github.com/pollhook/pollhook/internal/suggest"
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
// resources without guessing. The instance API lists it among its field
// errors as "configuration." + Field, the path as the request body holds
// it (docs/api.md, "Field errors").
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

// Errors is every problem Parse or Compile found, in the order it found
// them: resources in name order, keys in a fixed order, so the same input
// always gives the same list. It is never empty. Its Error is the first
// problem's, so a caller that shows one message shows what a one-error
// check would have said; errors.As finds the first *Error in it.
type Errors []*Error

// Error returns the first problem's "Field: Message".
func (es Errors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	return es[0].Error()
}

// Unwrap returns the problems, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// add appends e when it is not nil.
func (es *Errors) add(e *Error) {
	if e != nil {
		*es = append(*es, e)
	}
}

// err is es as an error: nil when es is empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

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
	if s, ok := suggest.Closest(key, known); ok {
		return errorf(field, "unknown key %q; did you mean %q?", key, s)
	}
	return errorf(field, "unknown key %q; known keys: %s", key, strings.Join(known, ", "))
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
