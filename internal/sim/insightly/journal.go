package insightly

import "time"

// Op is the kind of a journalled change.
type Op string

// The journalled operations.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Change is one entry of the change journal: the truth that tests check
// pollhook's events against.
type Change struct {
	Seq       int64     `json:"seq"`     // 1, 2, 3… in write order across the simulator
	Account   string    `json:"account"` // the account's subdomain
	Object    string    `json:"object"`  // collection name, e.g. "Contacts"
	ID        int64     `json:"id"`
	Op        Op        `json:"op"`
	At        time.Time `json:"at"`        // the simulator clock when written
	VisibleAt time.Time `json:"visibleAt"` // when reads start to see it (later than At for late writes)
	// Record is the content after the change, as GET returns it; for a
	// delete, the content it had when deleted.
	Record map[string]any `json:"record"`
}

// Updated is the record's DATE_UPDATED_UTC after the change ("" if the
// object has none).
func (c Change) Updated() string {
	s, _ := c.Record["DATE_UPDATED_UTC"].(string)
	return s
}

func (s *Sim) journalLocked(a *account, o *object, id int64, op Op, at, visibleAt time.Time, rec record) {
	s.seq++
	s.journal = append(s.journal, Change{Seq: s.seq, Account: a.subdomain, Object: o.Name, ID: id,
		Op: op, At: at, VisibleAt: visibleAt, Record: rec})
	if len(s.journal) > s.cfg.JournalLimit {
		// Drop the oldest half at once so trimming stays amortised O(1).
		s.journal = append([]Change(nil), s.journal[len(s.journal)/2:]...)
	}
}

// Journal returns the changes with Seq > since, oldest first.
func (s *Sim) Journal(since int64) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.journalSinceLocked(since)
}

func (s *Sim) journalSinceLocked(since int64) []Change {
	var out []Change
	// Sequence numbers are contiguous, so the first entry wanted is found
	// by arithmetic.
	start := 0
	if len(s.journal) > 0 {
		start = int(min(max(since-s.journal[0].Seq+1, 0), int64(len(s.journal))))
	}
	for _, c := range s.journal[start:] {
		c.Record = record(c.Record).clone()
		out = append(out, c)
	}
	return out
}
