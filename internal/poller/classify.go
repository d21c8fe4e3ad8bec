package poller

import (
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// Event types.
const (
	Created = "CREATED"
	Updated = "UPDATED"
	Deleted = "DELETED"
)

// rule is how a resource's records are judged (spec §3.2, §3.6).
type rule struct {
	filterByUpdated bool          // default true: report changes, filtered by updated date
	filterByCurrent bool          // drop records updated after the run started
	tolerance       time.Duration // createdCheckTolerance
	hasCreated      bool          // a created date is configured
}

// observation is one record as read in a run.
type observation struct {
	updated time.Time
	created time.Time // zero when not configured
	hash    []byte    // contentHash of raw
	raw     []byte
}

// classify decides what one record read in a run means. It is the whole of
// Cloud Elements' rule (spec §3.6), made exact:
//
//	"if the times in the Updated date field and Created date field are the
//	same, we know the record was created, not updated. If the time in the
//	Created date field is earlier than the Updated date field, we know the
//	record changed since it was created. If the Updated date field is not
//	later than the last polling time, we ignore the record."
//
// with "the same" widened to ±createdCheckTolerance, and pollhook's
// guarantees on top: at most one CREATED per object, ever; a version
// already reported (same updated date and content) is not reported again;
// a version older than the one reported is a stale read and ignored; two
// changes within one second (same date, different content) are both
// reported. With filterByUpdatedDate false, only creations are reported,
// once per object, filtered by created date.
//
// from is the window start, pollStart the upstream clock when the run
// began. It returns the event type and whether to report.
func classify(r rule, o observation, prev *store.Seen, from, pollStart time.Time) (string, bool) {
	if !r.filterByUpdated {
		if !o.created.After(from) || prev != nil {
			return "", false
		}
		if r.filterByCurrent && o.created.After(pollStart) {
			return "", false
		}
		return Created, true
	}
	if !o.updated.After(from) {
		return "", false
	}
	if r.filterByCurrent && o.updated.After(pollStart) {
		return "", false
	}
	if prev != nil {
		switch {
		case o.updated.Before(prev.Updated):
			return "", false
		case o.updated.Equal(prev.Updated) && sameContent(prev.Hash, o.raw, o.hash):
			return "", false
		}
	}
	// Per-record state is kept as long as the record is known to exist,
	// so prev == nil means nothing was ever reported of it: a backfill or
	// a wider window cannot bring a second CREATED.
	if r.hasCreated && prev == nil && absDuration(o.updated.Sub(o.created)) <= r.tolerance {
		return Created, true
	}
	return Updated, true
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
