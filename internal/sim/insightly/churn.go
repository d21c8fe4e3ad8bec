package insightly

import (
	"context"
	"time"
)

// churnObjects are the objects the background mutator edits, with weights.
var churnObjects = []struct {
	name   string
	weight int
}{
	{"Contacts", 4}, {"Organisations", 2}, {"Leads", 2}, {"Opportunities", 2},
	{"Tasks", 1}, {"Events", 1}, {"Projects", 1}, {"Fruit__c", 1},
}

// Step applies n random changes, as users of the CRM would make them, and
// returns what it did (the same entries the journal gets). About a quarter
// are creates, a tenth deletes, and one in twenty changes a record twice
// within the same second, the case that defeats a cursor on
// DATE_UPDATED_UTC alone. One in twenty is a no-op PUT (it changes nothing
// but DATE_UPDATED_UTC, which Insightly bumps on every successful PUT), and
// one in twenty an echo write: a PUT that sets fields to the values they
// already have, then, in the same second, a real change.
func (s *Sim) Step(n int) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.churn == nil {
		s.churn = newGenerator(s.cfg.Seed^0xc4a2, s.now())
	}
	from := s.seq
	for range n {
		s.stepLocked()
	}
	return s.journalSinceLocked(from)
}

func (s *Sim) stepLocked() {
	g := s.churn
	a := s.accounts[g.rng.IntN(len(s.accounts))]
	o := s.pickChurnObject(a)
	c := a.coll(o.Name)
	userIDs := make([]int64, len(a.users))
	for i, u := range a.users {
		userIDs[i] = u.id
	}
	r := refs{users: userIDs, orgs: a.coll("Organisations")}
	caller := r.user(g)
	id, live := s.randomLive(c)
	switch p := g.rng.Float64(); {
	case !live || p < 0.25:
		s.mustWrite(s.createLocked(a, o, g.body(a, o, r), caller))
	case p < 0.75:
		s.mustWrite(s.updateLocked(a, o, id, g.patch(a, o, c.latest(id), r), caller))
	case p < 0.80:
		// A no-op PUT: only DATE_UPDATED_UTC changes (and not even it
		// within the second of the last write).
		s.mustWrite(s.updateLocked(a, o, id, map[string]any{o.PK: id}, caller))
	case p < 0.85:
		// An echo write, then a real change in the same second.
		s.pinned = s.now()
		rec := c.latest(id)
		echo := g.patch(a, o, rec, r)
		for k := range echo {
			echo[k] = rec[k]
		}
		if _, err := s.updateLocked(a, o, id, echo, caller); err != nil {
			// A value GET shows that a PUT does not take back as is:
			// echo nothing but the key.
			s.mustWrite(s.updateLocked(a, o, id, map[string]any{o.PK: id}, caller))
		}
		s.mustWrite(s.updateLocked(a, o, id, g.patch(a, o, c.latest(id), r), caller))
		s.pinned = time.Time{}
	case p < 0.95:
		s.mustWrite(nil, s.deleteLocked(a, o, id))
	default:
		// Two edits of one record in one second: same DATE_UPDATED_UTC,
		// different content.
		s.pinned = s.now()
		s.mustWrite(s.updateLocked(a, o, id, g.patch(a, o, c.latest(id), r), caller))
		s.mustWrite(s.updateLocked(a, o, id, g.patch(a, o, c.latest(id), r), caller))
		s.pinned = time.Time{}
	}
}

func (s *Sim) pickChurnObject(a *account) *object {
	total := 0
	for _, co := range churnObjects {
		total += co.weight
	}
	for {
		n := s.churn.rng.IntN(total)
		for _, co := range churnObjects {
			if n -= co.weight; n < 0 {
				if o := a.lookup(co.name); a.gate(o) == 0 {
					return o
				}
				break
			}
		}
	}
}

// randomLive picks an existing record of c, if it has any.
func (s *Sim) randomLive(c *collection) (int64, bool) {
	if len(c.ids) == 0 {
		return 0, false
	}
	for range 16 {
		id := c.ids[s.churn.rng.IntN(len(c.ids))]
		if c.latest(id) != nil {
			return id, true
		}
	}
	return 0, false
}

// mustWrite panics on a rejected generated write: the generator makes
// valid data, and a failure means the simulator is broken.
func (s *Sim) mustWrite(_ record, err error) {
	if err != nil {
		panic("insightly sim: churn write failed: " + err.Error())
	}
}

// Churn changes records at rate changes per second until ctx is done.
func (s *Sim) Churn(ctx context.Context, rate float64) {
	if rate <= 0 {
		return
	}
	// Tick at the rate, but no faster than every 10ms; high rates apply
	// several changes per tick.
	every := max(time.Duration(float64(time.Second)/rate), 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	last, owed := time.Now(), 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			owed += now.Sub(last).Seconds() * rate
			last = now
			if n := int(owed); n > 0 {
				owed -= float64(n)
				s.Step(n)
			}
		}
	}
}
