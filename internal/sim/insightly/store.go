package insightly

import (
	"slices"
	"time"
)

// A collection holds one object's records for one account. Each record
// keeps its versions with the time each becomes visible to reads, so the
// simulator can play an upstream whose search index lags its writes:
// writes always see the latest version, reads the newest visible one.
type collection struct {
	obj     *object
	ids     []int64 // ascending: Insightly lists in ID order
	entries map[int64]*entry
	nextID  int64
}

type entry struct {
	versions []version
}

// version is one state of a record; rec is nil once deleted.
type version struct {
	visibleAt time.Time
	rec       record
}

func newCollection(o *object, firstID int64) *collection {
	return &collection{obj: o, entries: map[int64]*entry{}, nextID: firstID}
}

// latest is the record as written, visible or not; nil if absent or deleted.
func (c *collection) latest(id int64) record {
	e := c.entries[id]
	if e == nil {
		return nil
	}
	return e.versions[len(e.versions)-1].rec
}

// visible is the record as reads see it at now.
func (c *collection) visible(id int64, now time.Time) record {
	e := c.entries[id]
	if e == nil {
		return nil
	}
	return e.visibleAt(now)
}

func (e *entry) visibleAt(now time.Time) record {
	for i := len(e.versions) - 1; i >= 0; i-- {
		if !e.versions[i].visibleAt.After(now) {
			return e.versions[i].rec
		}
	}
	return nil
}

// put records a new version. Versions stay ordered by visibility (a write
// can't overtake the one before it), and versions no read can see any more
// are dropped to keep memory flat under churn.
func (c *collection) put(id int64, rec record, visibleAt, now time.Time) {
	e := c.entries[id]
	if e == nil {
		e = &entry{}
		c.entries[id] = e
		i, _ := slices.BinarySearch(c.ids, id)
		c.ids = slices.Insert(c.ids, i, id)
	}
	if n := len(e.versions); n > 0 && visibleAt.Before(e.versions[n-1].visibleAt) {
		visibleAt = e.versions[n-1].visibleAt
	}
	e.versions = append(e.versions, version{visibleAt: visibleAt, rec: rec})
	// Keep the newest version visible at now and everything after it.
	keep := 0
	for i := len(e.versions) - 1; i >= 0; i-- {
		if !e.versions[i].visibleAt.After(now) {
			keep = i
			break
		}
	}
	if keep > 0 {
		e.versions = slices.Delete(e.versions, 0, keep)
	}
}

// allocID hands out the next ID. Real Insightly IDs grow but are not
// contiguous (sequences are shared), so the step varies: clients must not
// assume ID arithmetic.
func (c *collection) allocID(step int64) int64 {
	id := c.nextID
	c.nextID += max(step, 1)
	return id
}

// scan calls fn for every record visible at now, in ascending ID order,
// until fn returns false.
func (c *collection) scan(now time.Time, fn func(id int64, r record) bool) {
	for _, id := range c.ids {
		if r := c.entries[id].visibleAt(now); r != nil {
			if !fn(id, r) {
				return
			}
		}
	}
}
