package store

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/testdb"
)

// The charts' queries read their range through an index, never a whole
// events, attempts or notifications table, on both databases.
func TestChartQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	until := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	since := until.Add(-24 * time.Hour)
	type plan struct {
		name  string
		query string
		args  []any
		want  []string // index names the plan must use
	}
	plans := func(d dialect) []plan {
		var out []plan
		for _, in := range []int64{0, 7} {
			q, a := d.eventsPerHour(3, in, since, until)
			want := "events_org_created"
			switch {
			case in != 0 && d.name == Postgres:
				want = "events_instance_created|events_instance_resource|events_created"
			case in != 0:
				want = "events_instance_created"
			case d.name == Postgres:
				want = "events_org_created|events_created"
			}
			out = append(out, plan{"events", q, a, []string{want}})
			q, a = d.failuresPerHour(3, in, since, until)
			out = append(out, plan{"failures", q, a, []string{"attempts_at", "notifications_first_attempt"}})
			q, a = d.deliveryLatency(3, in, since, until)
			out = append(out, plan{"latency", q, a, []string{"attempts_at", "notifications_first_attempt"}})
		}
		return out
	}
	check := func(t *testing.T, s *Store, explain string, setup ...string) {
		conn, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, q := range setup {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range plans(s.d) {
			rows, err := conn.QueryContext(ctx, explain+s.d.rebind(p.query), p.args...)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			var lines []string
			for rows.Next() {
				cols, _ := rows.Columns()
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, strings.TrimSpace(strings.ReplaceAll(strings.Join(strings.Fields(fmtAll(vals)), " "), "\n", " ")))
			}
			rows.Close()
			plan := strings.Join(lines, "\n")
			for _, idx := range p.want {
				// "a|b": either index. On an empty PostgreSQL table the
				// planner ties between the indexes that lead with the
				// instance, and with the prune's events_created (0016),
				// which bounds the time range too; SQLite's range analysis
				// still must pick the one that bounds the time range.
				if !slices.ContainsFunc(strings.Split(idx, "|"), func(i string) bool { return strings.Contains(plan, i) }) {
					t.Errorf("%s does not use %s:\n%s", p.name, idx, plan)
				}
			}
			if strings.Contains(plan, "SCAN events") || strings.Contains(plan, "SCAN attempts") || strings.Contains(plan, "SCAN n ") ||
				strings.Contains(plan, "Seq Scan on events") || strings.Contains(plan, "Seq Scan on attempts") ||
				strings.Contains(plan, "Seq Scan on notifications") {
				t.Errorf("%s scans a table:\n%s", p.name, plan)
			}
		}
	}
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "plan.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s, "EXPLAIN QUERY PLAN ")
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		s, err := Open(ctx, testdb.FreshSchema(t, testdb.PostgresURL(t)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// Empty tables are cheapest to scan: ask for the plan a large table gets.
		check(t, s, "EXPLAIN ", "SET enable_seqscan = off")
	})
}

func fmtAll(vals []any) string {
	var b strings.Builder
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			b.WriteString(string(v) + " ")
		case string:
			b.WriteString(v + " ")
		}
	}
	return b.String()
}
