package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// BenchmarkRecordPass measures the database work of one delivery pass of
// 64 notifications, as the pipeline does it: reading them
// (PendingNotifications) and recording their successful attempts
// (RecordAttempts). "first-try" successes are kept on the notifications'
// rows; "retried" ones (a success after a failure) are attempts rows, as
// every success was before issue 21, so the two side by side, in one
// run, alternated, are the change's effect. On PostgreSQL on this machine it also
// reports the backend's CPU per notification (/proc), which the shared
// machine's noise moves less than time does.
//
//	go test -run '^$' -bench RecordPass -benchtime 100x ./internal/store/
func BenchmarkRecordPass(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) { benchRecordPass(b, "sqlite:"+filepath.Join(b.TempDir(), "bench.db")) })
	b.Run("Postgres", func(b *testing.B) { benchRecordPass(b, testdb.FreshSchema(b, testdb.PostgresURL(b))) })
}

const passSize = 64

func benchRecordPass(b *testing.B, dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.DB().SetMaxOpenConns(1) // one backend, whose CPU is read
	o := &store.Organization{Name: "bench", SecretHash: []byte("o")}
	if err := s.CreateOrganization(ctx, o); err != nil {
		b.Fatal(err)
	}
	u := &store.User{OrgID: o.ID, Email: "bench@example.com", FirstName: "A", LastName: "B", SecretHash: []byte("u")}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	in := &store.Instance{OrgID: o.ID, UserID: u.ID, ElementKey: "insightly", Name: "bench", TokenHash: []byte("t")}
	if err := s.CreateInstance(ctx, in); err != nil {
		b.Fatal(err)
	}
	cb, err := s.CallbackFor(ctx, o.ID, "https://hooks.example/bench")
	if err != nil {
		b.Fatal(err)
	}
	cpu := backendCPU(b, s)
	body := []byte(strings.Repeat("x", 1275)) // the size bench delivery sends
	seq := 0
	// Alternated, three rounds each, so the machine's noise falls on both.
	for i := range 6 {
		retried := i%2 == 1
		name := map[bool]string{false: "first-try", true: "retried"}[retried]
		b.Run(name, func(b *testing.B) {
			var used time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := s.InTx(ctx, func(tx *store.Tx) error {
					for range passSize {
						seq++
						if err := tx.InsertNotification(ctx, &store.Notification{ID: fmt.Sprintf("n%08d", seq), OrgID: o.ID,
							InstanceID: in.ID, CallbackID: cb.ID, Resource: "contacts", Body: body}, nil); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				before := cpu()
				b.StartTimer()
				pending, err := s.PendingNotifications(ctx, cb.ID, 0, passSize)
				if err != nil || len(pending) != passSize {
					b.Fatalf("pending: %d %v", len(pending), err)
				}
				rs := make([]store.AttemptResult, len(pending))
				for i, n := range pending {
					if retried {
						n.Attempts = 1 // as read after a failed attempt
					}
					rs[i] = store.AttemptResult{Notification: n, Status: store.NotificationDelivered,
						Attempt: store.Attempt{At: time.Now(), StatusCode: 200, Latency: time.Millisecond, Response: `{"ok":true}`}}
				}
				if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.RecordAttempts(ctx, rs) }); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				used += cpu() - before
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*passSize), "ns/notification")
			if used > 0 {
				b.ReportMetric(float64(used.Microseconds())/float64(b.N*passSize), "pg-cpu-µs/notification")
			}
		})
	}
}

// backendCPU returns a function reading the CPU time used so far by the
// store's one PostgreSQL backend, when it runs on this machine; zero
// otherwise (SQLite's work is the benchmark's own).
func backendCPU(b *testing.B, s *store.Store) func() time.Duration {
	none := func() time.Duration { return 0 }
	if s.Dialect() != store.Postgres {
		return none
	}
	var pid int
	if err := s.DB().QueryRow(`SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		b.Fatal(err)
	}
	path := fmt.Sprintf("/proc/%d/stat", pid)
	if _, err := os.Stat(path); err != nil {
		return none
	}
	return func() time.Duration {
		stat, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		// utime and stime, in clock ticks (100 a second on Linux), follow
		// the command name in parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		user, _ := strconv.ParseInt(f[11], 10, 64)
		sys, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(user+sys) * 10 * time.Millisecond
	}
}
