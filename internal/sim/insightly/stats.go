package insightly

import "time"

// Stats are what one account was sent since the simulator started (or
// since ResetStats): what a test of a client's pace checks.
type Stats struct {
	Requests     int // authenticated API requests, answered or refused
	TooMany      int // answered 429: rate, concurrency or daily quota
	MaxPerSecond int // most requests within one wall-clock second
	MaxInFlight  int // most requests being answered at once
}

// traffic counts an account's requests as they come and go.
type traffic struct {
	Stats
	second   int64 // the wall-clock second being counted (Unix)
	inSecond int
	inFlight int
}

// arrive counts a request arriving at wall.
func (t *traffic) arrive(wall time.Time) {
	t.Requests++
	if sec := wall.Unix(); sec != t.second {
		t.second, t.inSecond = sec, 0
	}
	t.inSecond++
	t.MaxPerSecond = max(t.MaxPerSecond, t.inSecond)
	t.inFlight++
	t.MaxInFlight = max(t.MaxInFlight, t.inFlight)
}

// leave counts a request answered; refused says it was a 429.
func (t *traffic) leave(refused bool) {
	t.inFlight--
	if refused {
		t.TooMany++
	}
}

// Stats reports each account's traffic, in creation order.
func (s *Sim) Stats() []Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Stats, len(s.accounts))
	for i, a := range s.accounts {
		out[i] = a.traffic.Stats
	}
	return out
}

// ResetStats starts the counts again, e.g. once a test's setup is done;
// requests in flight stay counted as in flight.
func (s *Sim) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		a.traffic = traffic{inFlight: a.traffic.inFlight, Stats: Stats{MaxInFlight: a.traffic.inFlight}}
	}
}
