package sqlstore

import (
	"fmt"
	"strings"
	"testing"
)

// TestPostgresSharedReadPlans: every row of a shared read is primary-key
// lookups, in the generic plan PostgreSQL caches for the prepared
// statement and in a custom plan for a full batch, so that what a shared
// read costs does not grow with the tables. As plain joins, both plans
// hashed the keys and scanned authorizers whole.
func TestPostgresSharedReadPlans(t *testing.T) {
	s := openPostgresT(t)
	conn, err := s.reads.db.Conn(t.Context())
	ok(t, err)
	defer conn.Close()
	for _, c := range []struct {
		name, sql string
		arrays    []string // the statement's parameters: the type of each array
	}{
		{"categories", categoriesWithGrantsSQL, []string{"TEXT", "TEXT"}},
		{"audits", auditsWithGrantsSQL, []string{"TEXT", "TEXT", "BIGINT"}},
	} {
		if _, err := conn.ExecContext(t.Context(), "PREPARE "+c.name+" AS "+c.sql); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		full := make([]string, len(c.arrays))
		for i, typ := range c.arrays {
			full[i] = fmt.Sprintf("array_fill(NULL::%s, ARRAY[%d])", typ, maxBatch)
		}
		for mode, args := range map[string]string{
			"force_generic_plan": strings.TrimSuffix(strings.Repeat("NULL, ", len(c.arrays)), ", "),
			"force_custom_plan":  strings.Join(full, ", "),
		} {
			if _, err := conn.ExecContext(t.Context(), "SET plan_cache_mode = "+mode); err != nil {
				t.Fatal(err)
			}
			rows, err := conn.QueryContext(t.Context(), "EXPLAIN EXECUTE "+c.name+"("+args+")")
			ok(t, err)
			var plan []string
			for rows.Next() {
				var line string
				ok(t, rows.Scan(&line))
				plan = append(plan, line)
			}
			ok(t, rows.Err())
			text := strings.Join(plan, "\n")
			if strings.Contains(text, "Seq Scan") || strings.Contains(text, "Hash") || !strings.Contains(text, "Index Scan") {
				t.Errorf("%s, %s: not one index lookup per row:\n%s", c.name, mode, text)
			}
		}
	}
}
