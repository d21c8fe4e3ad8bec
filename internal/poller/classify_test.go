package poller

import (
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// The rule of spec §3.6: "if the times in the Updated date field and
// Created date field are the same, we know the record was created, not
// updated. If the time in the Created date field is earlier than the
// Updated date field, we know the record changed since it was created. If
// the Updated date field is not later than the last polling time, we
// ignore the record." — with createdCheckTolerance widening "the same".
func TestClassify(t *testing.T) {
	t.Parallel()
	at := func(s int) time.Time { return time.Date(2026, 3, 1, 12, 0, s, 0, time.UTC) }
	from, start := at(10), at(50)
	std := rule{filterByUpdated: true, tolerance: 2 * time.Second, hasCreated: true}
	h1, h2 := []byte{1}, []byte{2}
	cases := []struct {
		name   string
		r      rule
		o      observation
		prev   *store.Seen
		want   string
		report bool
	}{
		{"created: updated equals created", std, observation{updated: at(20), created: at(20), hash: h1}, nil, Created, true},
		{"created: within the tolerance", std, observation{updated: at(22), created: at(20), hash: h1}, nil, Created, true},
		{"updated: beyond the tolerance", std, observation{updated: at(23), created: at(20), hash: h1}, nil, Updated, true},
		{"updated: created long ago", std, observation{updated: at(20), created: at(-3600), hash: h1}, nil, Updated, true},
		{"ignored: updated at the last polling time", std, observation{updated: from, created: from, hash: h1}, nil, "", false},
		{"ignored: updated before it", std, observation{updated: at(5), created: at(1), hash: h1}, nil, "", false},
		{"no second CREATED for an object already reported", std, observation{updated: at(20), created: at(20), hash: h2},
			&store.Seen{Updated: at(20), Hash: h1, CreatedSent: true}, Updated, true},
		{"same version again: not reported twice", std, observation{updated: at(20), created: at(20), hash: h1},
			&store.Seen{Updated: at(20), Hash: h1, CreatedSent: true}, "", false},
		{"two changes in one second: both reported", std, observation{updated: at(30), created: at(1), hash: h2},
			&store.Seen{Updated: at(30), Hash: h1}, Updated, true},
		{"a stale read of an older version", std, observation{updated: at(25), created: at(1), hash: h2},
			&store.Seen{Updated: at(30), Hash: h1}, "", false},
		{"a newer version after an update", std, observation{updated: at(40), created: at(1), hash: h2},
			&store.Seen{Updated: at(30), Hash: h1}, Updated, true},
		{"without a created date every change is an update", rule{filterByUpdated: true},
			observation{updated: at(20), hash: h1}, nil, Updated, true},
		{"filterByCurrentDate drops what changed after the run began", rule{filterByUpdated: true, filterByCurrent: true, hasCreated: true},
			observation{updated: at(51), created: at(51), hash: h1}, nil, "", false},
		{"filterByCurrentDate keeps what changed before", rule{filterByUpdated: true, filterByCurrent: true, hasCreated: true},
			observation{updated: at(50), created: at(50), hash: h1}, nil, Created, true},
		{"creations only: new object", rule{hasCreated: true}, observation{updated: at(40), created: at(20), hash: h1}, nil, Created, true},
		{"creations only: created before the window", rule{hasCreated: true}, observation{updated: at(40), created: at(9), hash: h1}, nil, "", false},
		{"creations only: once per object, whatever changes", rule{hasCreated: true}, observation{updated: at(45), created: at(20), hash: h2},
			&store.Seen{Updated: at(20), Hash: h1, CreatedSent: true}, "", false},
	}
	for _, tc := range cases {
		got, report := classify(tc.r, tc.o, tc.prev, from, start)
		if got != tc.want || report != tc.report {
			t.Errorf("%s: (%q, %v), want (%q, %v)", tc.name, got, report, tc.want, tc.report)
		}
	}
}
