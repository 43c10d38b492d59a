package mstest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// PostgresDSN returns a DSN for a fresh PostgreSQL schema that is dropped
// when the test ends, or skips the test when MINISHIP_TEST_POSTGRES is not
// set. Pass it as Options.Database to run a server on PostgreSQL.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("MINISHIP_TEST_POSTGRES")
	if base == "" {
		t.Skip("MINISHIP_TEST_POSTGRES not set: skipping the PostgreSQL backend")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "ms_e2e_" + randomSuffix(t) + randomSuffix(t)
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("mstest: create schema: %v", err)
	}
	// Registered before New's cleanup, so it runs after the server closed.
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("mstest: drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Backends runs fn once per storage backend: SQLite always, PostgreSQL when
// MINISHIP_TEST_POSTGRES is set. fn gets the Options.Database to use.
func Backends(t *testing.T, fn func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresDSN(t)) })
}
