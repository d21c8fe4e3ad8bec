package insightly

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// stamp sets the server-owned fields of a record being created.
func (s *Sim) stamp(a *account, o *object, rec record, id int64, created, updated time.Time) {
	rec[o.PK] = id
	if _, ok := o.field("DATE_CREATED_UTC"); ok {
		rec["DATE_CREATED_UTC"] = formatDate(created)
	}
	if o.hasUpdated() {
		rec["DATE_UPDATED_UTC"] = formatDate(updated)
	}
	if _, ok := o.field("CREATED_USER_ID"); ok && rec["CREATED_USER_ID"] == nil {
		rec["CREATED_USER_ID"] = rec["OWNER_USER_ID"]
	}
	if _, ok := o.field("LINKED_EMAIL_ADDRESS"); ok {
		rec["LINKED_EMAIL_ADDRESS"] = fmt.Sprintf("%s-%c%d-%X@mailbox.insight.ly",
			a.subdomain, o.Singular[0], id, uint32(id*2654435761))
	}
	if links, ok := rec["LINKS"].([]any); ok {
		for _, l := range links {
			l.(map[string]any)["OBJECT_ID"] = id
		}
	}
}

// writeTime is the instant of a write and the second Insightly stamps on it.
func (s *Sim) writeTime() (at, stamped time.Time) {
	at = s.now()
	return at, at.UTC().Truncate(time.Second)
}

// createLocked adds a record to o. Callers hold s.mu.
func (s *Sim) createLocked(a *account, o *object, body map[string]any, caller int64) (record, error) {
	rec, err := a.merge(o, nil, body, caller)
	if err != nil {
		return nil, err
	}
	c := a.coll(o.Name)
	id := c.allocID(1 + s.rng.Int64N(5))
	at, stamped := s.writeTime()
	s.stamp(a, o, rec, id, stamped, stamped)
	visibleAt := s.faults.visibleAt(s.rng, at)
	c.put(id, rec, visibleAt, at)
	s.journalLocked(a, o, id, OpCreate, at, visibleAt, rec)
	return rec, nil
}

// updateLocked merges body into record id of o and bumps DATE_UPDATED_UTC,
// even when nothing else changed (every successful PUT counts as an edit).
func (s *Sim) updateLocked(a *account, o *object, id int64, body map[string]any, caller int64) (record, error) {
	c := a.coll(o.Name)
	base := c.latest(id)
	if base == nil {
		return nil, notFound(o)
	}
	rec, err := a.merge(o, base, body, caller)
	if err != nil {
		return nil, err
	}
	at, stamped := s.writeTime()
	if o.hasUpdated() {
		rec["DATE_UPDATED_UTC"] = formatDate(stamped)
	}
	visibleAt := s.faults.visibleAt(s.rng, at)
	c.put(id, rec, visibleAt, at)
	s.journalLocked(a, o, id, OpUpdate, at, visibleAt, rec)
	return rec, nil
}

// deleteLocked removes record id of o (to the Recycle Bin, as far as the
// API can tell: it is gone from every read).
func (s *Sim) deleteLocked(a *account, o *object, id int64) error {
	c := a.coll(o.Name)
	base := c.latest(id)
	if base == nil {
		return notFound(o)
	}
	at := s.now()
	visibleAt := s.faults.visibleAt(s.rng, at)
	c.put(id, nil, visibleAt, at)
	s.journalLocked(a, o, id, OpDelete, at, visibleAt, base)
	return nil
}

func notFound(o *object) *apiError {
	return &apiError{Status: http.StatusNotFound, Message: o.Singular + " not found."}
}

// Load stores a record exactly as given (its ID and dates included) into
// the account that key belongs to, without journalling it: how tests
// install recorded fixtures. The ID must be new.
func (s *Sim) Load(key, objectName string, rec map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := s.keys[key]
	if !ok {
		return fmt.Errorf("insightly sim: unknown key")
	}
	o := owner.acct.lookup(objectName)
	if o == nil {
		return fmt.Errorf("insightly sim: unknown object %q", objectName)
	}
	r := record(normalize(cloneValue(rec)).(map[string]any))
	id, ok := asInt(r[o.PK])
	if !ok {
		return fmt.Errorf("insightly sim: record lacks %s", o.PK)
	}
	c := owner.acct.coll(o.Name)
	if c.entries[id] != nil {
		return fmt.Errorf("insightly sim: %s %d exists", o.Singular, id)
	}
	for k := range r {
		if _, known := o.field(k); !known {
			return fmt.Errorf("insightly sim: %s has no field %s", o.Name, k)
		}
	}
	c.put(id, r, time.Time{}, s.now())
	c.nextID = max(c.nextID, id+1)
	return nil
}

// Records returns the current (latest written) records of an object in
// the key's account, in ID order: the truth at this instant.
func (s *Sim) Records(key, objectName string) ([]map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, ok := s.keys[key]
	if !ok {
		return nil, fmt.Errorf("insightly sim: unknown key")
	}
	o := owner.acct.lookup(objectName)
	if o == nil {
		return nil, fmt.Errorf("insightly sim: unknown object %q", objectName)
	}
	c := owner.acct.coll(o.Name)
	var out []map[string]any
	for _, id := range c.ids {
		if r := c.latest(id); r != nil {
			out = append(out, r.clone())
		}
	}
	return out, nil
}

// canonicalObject resolves a collection name case-insensitively.
func canonicalObject(a *account, name string) (*object, bool) {
	o := a.lookup(name)
	return o, o != nil && !strings.HasPrefix(name, "_")
}
