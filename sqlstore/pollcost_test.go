package sqlstore

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// TestOutboxPollCost times the outbox's poll (the platforms with due
// events, then up to 4 due events of each) while one platform's receiver
// hangs with a backlog of 100 and of 100,000 pending events, due or not
// yet due, and reports the ratio: about 1 when a poll costs the same
// whatever the backlog. The times are reported, not asserted (the plans
// are, in TestOutboxPollPlans). Filling takes a while, so it runs only on
// request:
//
//	MINISHIP_MEASURE_POLL=1 go test -run TestOutboxPollCost -v ./sqlstore
func TestOutboxPollCost(t *testing.T) {
	if os.Getenv("MINISHIP_MEASURE_POLL") == "" {
		t.Skip("set MINISHIP_MEASURE_POLL=1 to measure")
	}
	backends := map[string]func(t *testing.T) *Store{
		"sqlite":   func(t *testing.T) *Store { return openSQLiteT(t) },
		"postgres": func(t *testing.T) *Store { postgresDSN(t); return openPostgresT(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		for _, due := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/due=%v", name, due), func(t *testing.T) {
				var took [2]time.Duration
				for i, n := range []int{100, 100_000} {
					took[i] = pollTime(t, backends[name](t), n, due)
				}
				t.Logf("one poll: %v with 100 pending, %v with 100,000: ratio %.1f",
					took[0], took[1], float64(took[1])/float64(took[0]))
			})
		}
	}
}

// pollTime fills s with n pending events of a hung platform (due at the
// poll's time, or an hour after it) and one due event of another, and
// returns the median time of a poll.
func pollTime(t *testing.T, s *Store, n int, due bool) time.Duration {
	next := at(0)
	if !due {
		next = at(0).Add(time.Hour)
	}
	for done := 0; done < n; done += 1000 {
		update(t, s, func(tx miniship.Tx) error {
			for range min(1000, n-done) {
				ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxhung", Kind: "component_verify_ticket",
					Status: miniship.EventPending, NextAttemptAt: next, CreatedAt: at(0)}))
			}
			return nil
		})
	}
	update(t, s, func(tx miniship.Tx) error {
		return tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxok", Status: miniship.EventPending, NextAttemptAt: at(0)})
	})
	if s.Backend() == "postgres" {
		_, err := s.writer.ExecContext(t.Context(), "ANALYZE")
		ok(t, err)
	}
	poll := func() {
		update(t, s, func(tx miniship.Tx) error {
			ps, err := tx.DuePlatforms(at(30), 64)
			for _, p := range ps {
				if _, err := tx.DuePlatformEvents(p, at(30), 4); err != nil {
					return err
				}
			}
			return err
		})
	}
	for range 5 {
		poll()
	}
	times := make([]time.Duration, 101)
	for i := range times {
		start := time.Now()
		poll()
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[len(times)/2]
}

// TestOutboxPollPlans: each statement of the outbox's poll (and the choice
// of the pushes a platform's backlog cap fails) reaches its
// rows through an index, with no scan of a table, no sort, and on
// PostgreSQL no more than a couple of rows read and passed over: while one
// platform has a backlog of 5,000 pushes (after 1,000 delivered) and one
// other platform has one,
// and again with a thousand more platforms whose pushes are not due; on
// SQLite before and after ANALYZE, on PostgreSQL after it, in the generic
// plan it caches for the prepared statement and in a custom one. Grouping
// the events by platform scanned the events_platform index whole; and
// while events_due (pending events by due time) was there, PostgreSQL's
// generic plan for one platform's next attempt walked it through the
// other platform's backlog (100,000 rows read and passed over).
func TestOutboxPollPlans(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { checkPollPlans(t, openSQLiteT(t)) })
	t.Run("postgres", func(t *testing.T) { postgresDSN(t); checkPollPlans(t, openPostgresT(t)) })
}

type planCase struct {
	name, sql string
	args      []string // SQL literals
}

func checkPollPlans(t *testing.T, s *Store) {
	now := strconv.FormatInt(at(9).UnixNano(), 10)
	events := []planCase{
		{"next attempt", nextAttemptSQL, []string{"'wxhung'"}},
		{"next attempt, small", nextAttemptSQL, []string{"'wxok'"}},
		{"due events", duePlatformEventsSQL + " LIMIT ?", []string{"'wxhung'", now, "4"}},
		{"due events, small", duePlatformEventsSQL + " LIMIT ?", []string{"'wxok'", now, "4"}},
		{"longest waiting", longestWaitingSQL, []string{"'wxhung'", "3"}},
		{"longest waiting, small", longestWaitingSQL, []string{"'wxok'", "3"}},
	}
	queues := []planCase{
		{"due queues", dueQueuesSQL, []string{now, "64"}},
		{"due queues, next page", dueQueuesAfterSQL, []string{now, now, "'wx'", "64"}},
	}
	for i := range 6 {
		update(t, s, func(tx miniship.Tx) error {
			status := miniship.EventPending
			if i == 0 {
				status = miniship.EventDelivered // history, older than the backlog
			}
			for range 1000 {
				ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxhung", Status: status, NextAttemptAt: at(0)}))
			}
			if i == 0 {
				return tx.EnqueueEvent(&miniship.Event{PlatformAppID: "wxok", Status: miniship.EventPending, NextAttemptAt: at(5)})
			}
			return nil
		})
	}
	explainPlans(t, s, events)
	update(t, s, func(tx miniship.Tx) error {
		for i := range 1000 {
			ok(t, tx.EnqueueEvent(&miniship.Event{PlatformAppID: fmt.Sprintf("wx%04d", i),
				Status: miniship.EventPending, NextAttemptAt: at(0).Add(time.Hour)}))
		}
		return nil
	})
	explainPlans(t, s, append(events, queues...))
}

// removedRE finds the rows PostgreSQL read and passed over (EXPLAIN ANALYZE).
var removedRE = regexp.MustCompile(`Rows Removed by (?:Filter|Index Recheck): (\d+)`)

// explainPlans checks the plans of the cases: on SQLite before and after
// ANALYZE; on PostgreSQL (where autovacuum may analyze at any time) after
// it, generic and custom, run: whichever index the planner picks, a
// statement may pass over no more than a couple of rows.
func explainPlans(t *testing.T, s *Store, cases []planCase) {
	t.Helper()
	conn, err := s.writer.Conn(t.Context())
	ok(t, err)
	defer conn.Close()
	lines := func(q string) string {
		rows, err := conn.QueryContext(t.Context(), q)
		ok(t, err)
		defer rows.Close()
		var plan []string
		cols, err := rows.Columns()
		ok(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			ok(t, rows.Scan(ptrs...))
			plan = append(plan, fmt.Sprint(vals[len(vals)-1])) // SQLite's detail column
		}
		ok(t, rows.Err())
		return strings.Join(plan, "\n")
	}
	check := func(name, plan string, bad ...string) {
		for _, b := range bad {
			if strings.Contains(plan, b) {
				t.Errorf("%s: %s in the plan:\n%s", name, b, plan)
			}
		}
	}
	exec := func(q string) {
		_, err := conn.ExecContext(t.Context(), q)
		ok(t, err)
	}
	if s.Backend() == "sqlite" {
		for _, analyzed := range []string{"", "ANALYZE"} {
			if analyzed != "" {
				exec(analyzed)
			}
			for _, c := range cases {
				q := c.sql
				for _, a := range c.args {
					q = strings.Replace(q, "?", a, 1)
				}
				check(c.name+" "+analyzed, lines("EXPLAIN QUERY PLAN "+q), "SCAN", "TEMP B-TREE")
			}
		}
		return
	}
	exec("ANALYZE")
	defer exec("RESET plan_cache_mode")
	for i, c := range cases {
		name := fmt.Sprintf("poll%d", i)
		exec("PREPARE " + name + " AS " + s.d.rebind(c.sql))
		for _, mode := range []string{"force_generic_plan", "force_custom_plan"} {
			exec("SET plan_cache_mode = " + mode)
			plan := lines("EXPLAIN ANALYZE EXECUTE " + name + "(" + strings.Join(c.args, ", ") + ")")
			check(c.name+", "+mode, plan, "Seq Scan", "Sort")
			for _, m := range removedRE.FindAllStringSubmatch(plan, -1) {
				if n, _ := strconv.Atoi(m[1]); n > 2 {
					t.Errorf("%s, %s: %d rows read and passed over:\n%s", c.name, mode, n, plan)
				}
			}
		}
		exec("DEALLOCATE " + name)
	}
}
