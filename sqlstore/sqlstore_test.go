package sqlstore

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// --- backends ---------------------------------------------------------------

func openSQLiteT(t testing.TB) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "miniship.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresDSN is the test database, or a skip.
func postgresDSN(t testing.TB) string {
	dsn := os.Getenv("MINISHIP_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("MINISHIP_TEST_POSTGRES not set: skipping PostgreSQL backend")
	}
	return dsn
}

// postgresSchema creates an empty schema for one test, dropped after it,
// and returns a DSN whose search_path selects it.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := postgresDSN(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "ms_test_" + hex.EncodeToString(randomBytes(8))
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
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

func openPostgresT(t testing.TB) *Store {
	t.Helper()
	dsn := postgresSchema(t)
	s, err := OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // before the schema is dropped
	return s
}

func TestSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T) miniship.Store { return openSQLiteT(t) })
}

func TestPostgres(t *testing.T) {
	postgresDSN(t)
	runSuite(t, func(t *testing.T) miniship.Store { return openPostgresT(t) })
}

// --- opening ----------------------------------------------------------------

func TestOpenDSN(t *testing.T) {
	dir := t.TempDir()
	for dsn, sync := range map[string]string{
		"sqlite://" + filepath.Join(dir, "a.db"):                       "1",
		"sqlite://" + filepath.Join(dir, "b.db") + "?synchronous=full": "2",
		filepath.Join(dir, "c.db"):                                     "1",
	} {
		s, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		equal(t, s.Backend(), "sqlite")
		var got string
		ok(t, s.writer.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got))
		equal(t, got, sync)
		ok(t, s.Close())
	}
	for _, dsn := range []string{"", "mysql://u:secret@h/db", filepath.Join(dir, "d.db?mode=ro"),
		"sqlite://" + filepath.Join(dir, "e.db") + "?synchronous=off", "sqlite://" + filepath.Join(dir, "f.db") + "?cache=shared"} {
		if s, err := Open(t.Context(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		} else if dsn != "" && strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
	if dsn := os.Getenv("MINISHIP_TEST_POSTGRES"); dsn != "" {
		s, err := Open(t.Context(), postgresSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, s.Backend(), "postgres")
		ok(t, s.Close())
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestSQLitePragmas checks the connection settings the DSN asks for.
func TestSQLitePragmas(t *testing.T) {
	s := openSQLiteT(t)
	pragma := func(db *sql.DB, name string) string {
		var v string
		ok(t, db.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v))
		return v
	}
	equal(t, pragma(s.writer, "journal_mode"), "wal")
	equal(t, pragma(s.writer, "synchronous"), "1") // NORMAL
	equal(t, pragma(s.writer, "foreign_keys"), "1")
	equal(t, pragma(s.writer, "busy_timeout"), strconv.Itoa(sqliteBusyTimeout))
	equal(t, pragma(s.writer, "temp_store"), "2") // MEMORY: the savepoint journal of batch.go
	equal(t, pragma(s.reader, "query_only"), "1")
	equal(t, pragma(s.reader, "journal_mode"), "wal")
}

func TestSQLitePersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "miniship.db")
	s, err := OpenSQLite(t.Context(), path)
	ok(t, err)
	p := &miniship.Platform{AppID: "wxp", Secret: "s", CreatedAt: at(1)}
	update(t, s, func(tx miniship.Tx) error { return tx.CreatePlatform(p) })
	ok(t, s.Close())

	s, err = Open(t.Context(), "sqlite://"+path) // migrations find nothing to do
	ok(t, err)
	defer s.Close()
	view(t, s, func(tx miniship.Tx) error {
		equal(t, must[*miniship.Platform](t)(tx.GetPlatform("wxp")), p)
		return nil
	})
}

// TestSQLiteBeginImmediate checks that an Update holds the write lock from
// its BEGIN, before it writes anything (the _txlock=immediate DSN setting),
// and that a writer in another process that finds it taken retries rather
// than failing.
func TestSQLiteBeginImmediate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "miniship.db")
	a, err := OpenSQLite(t.Context(), path)
	ok(t, err)
	defer a.Close()
	b, err := openSQLite(t.Context(), path, 1, sqliteSync) // gives up waiting after 1ms
	ok(t, err)
	defer b.Close()

	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- a.Update(t.Context(), func(tx miniship.Tx) error {
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	// A deferred BEGIN would succeed here and fail only at the first write.
	_, err = b.writer.BeginTx(t.Context(), nil)
	if sqliteDialect.classify(err) != errRetry {
		t.Fatalf("BEGIN while another Update runs: %v, want SQLITE_BUSY", err)
	}
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	start := time.Now()
	update(t, b, func(tx miniship.Tx) error { return tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}) })
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("Update did not wait for the lock (%v)", d)
	}
	ok(t, <-done)
}

// TestSQLiteKill: every commit a process reported survives its kill -9.
func TestSQLiteKill(t *testing.T) { killTest(t, "TestSQLiteKill", 1, 300) }

// killTest runs this test binary as a child (test name) with writers
// goroutines that commit forever, each reporting "writer n" once its
// commit returned, kills it with SIGKILL after after reports, and checks
// that every reported commit is in the database, which is intact.
func killTest(t *testing.T, name string, writers, after int) {
	if path := os.Getenv("SQLSTORE_KILL_CHILD"); path != "" {
		killChild(path, writers)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	path := filepath.Join(t.TempDir(), "miniship.db")
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$")
	cmd.Env = append(os.Environ(), "SQLSTORE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	ok(t, err)
	ok(t, cmd.Start())
	lines := bufio.NewScanner(out)
	acked := make([]int, writers)
	total := 0
	for lines.Scan() {
		var w, n int
		if _, err := fmt.Sscanf(lines.Text(), "%d %d", &w, &n); err != nil || w < 0 || w >= writers {
			continue
		}
		acked[w] = max(acked[w], n)
		if total++; total == after {
			ok(t, cmd.Process.Kill()) // SIGKILL: no cleanup, no final fsync
		}
	}
	_ = cmd.Wait()
	if total < after {
		t.Fatalf("child acknowledged only %d commits", total)
	}
	s, err := OpenSQLite(t.Context(), path)
	ok(t, err)
	defer s.Close()
	found := 0
	view(t, s, func(tx miniship.Tx) error {
		for w, a := range acked {
			got := must[int](t)(tx.GetCounter(fmt.Sprintf("n%d", w)))
			found += got
			// A writer may have committed one more than it managed to report.
			if got < a || got > a+1 {
				t.Errorf("writer %d: counter %d after kill, child acknowledged %d", w, got, a)
			}
		}
		return nil
	})
	var check string
	ok(t, s.reader.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&check))
	equal(t, check, "ok")
	t.Logf("%d acknowledged commits, %d found after kill -9", total, found)
}

// killChild runs the writers of killTest.
func killChild(path string, writers int) {
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex // one line per write to the unbuffered stdout
	for w := range writers {
		go func() {
			key := fmt.Sprintf("n%d", w)
			for {
				var n int
				err := s.Update(context.Background(), func(tx miniship.Tx) (err error) {
					n, err = tx.AddCounter(key, 1)
					return err
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Printf("%d %d\n", w, n)
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestPostgresConcurrentOpen: servers starting together on a fresh schema
// migrate it once.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := postgresSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := OpenPostgres(t.Context(), dsn)
			if err == nil {
				err = s.Update(t.Context(), func(tx miniship.Tx) error {
					_, err := tx.AddCounter("opened", 1)
					return err
				})
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, err)
	}
}

// TestRebind covers the placeholder rewrite of each backend.
func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)`
	equal(t, postgresDialect.rebind(q), `SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)`)
	equal(t, sqliteDialect.rebind(q), `SELECT a FROM t WHERE b = +? AND c = '?' AND d IN (+?, +?)`)
}

// TestTimeRange: times the store cannot hold exactly are refused.
func TestTimeRange(t *testing.T) {
	s := openSQLiteT(t)
	err := s.Update(t.Context(), func(tx miniship.Tx) error {
		return tx.CreatePlatform(&miniship.Platform{AppID: "wxp", CreatedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	if err == nil {
		t.Fatal("a time in the year 3000 was stored")
	}
	if errors.Is(err, miniship.ErrConflict) || errors.Is(err, miniship.ErrNotFound) {
		t.Fatalf("out-of-range time reported as %v", err)
	}
}

// --- benchmarks -------------------------------------------------------------

// benchBackends runs a benchmark on each backend: SQLite as configured,
// SQLite with synchronous=FULL for comparison, and PostgreSQL if set.
func benchBackends(b *testing.B, fn func(b *testing.B, s *Store)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, openSQLiteT(b)) })
	b.Run("sqlite-sync-full", func(b *testing.B) {
		s, err := openSQLite(b.Context(), filepath.Join(b.TempDir(), "miniship.db"), sqliteBusyTimeout, "FULL")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		fn(b, s)
	})
	b.Run("postgres", func(b *testing.B) { fn(b, openPostgresT(b)) })
}

func seedAuthorizer(b *testing.B, s *Store) {
	err := s.Update(b.Context(), func(tx miniship.Tx) error {
		return tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa", Nickname: "bench",
			Categories:  []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 1, SecondID: 2}},
			PrivacyAPIs: []string{"getLocation"}, CreatedAt: time.Now()})
	})
	if err != nil {
		b.Fatal(err)
	}
}

// benchTx times a transaction run one at a time and by 4×GOMAXPROCS
// goroutines at once. run gets a key of its goroutine's own, so that
// parallel writers measure throughput rather than contention on one row.
func benchTx(b *testing.B, run func(key string) error) {
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := run("bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var g atomic.Int32
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			key := fmt.Sprint("bench", g.Add(1))
			for pb.Next() {
				if err := run(key); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkUpdate: one small write transaction (a counter increment), one
// writer at a time and from many goroutines.
func BenchmarkUpdate(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		benchTx(b, func(key string) error {
			return s.Update(b.Context(), func(tx miniship.Tx) error {
				_, err := tx.AddCounter(key, 1)
				return err
			})
		})
	})
}

// BenchmarkView: one read transaction fetching a mini program.
func BenchmarkView(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *Store) {
		seedAuthorizer(b, s)
		benchTx(b, func(string) error {
			return s.View(b.Context(), func(tx miniship.Tx) error {
				_, err := tx.GetAuthorizer("wxa")
				return err
			})
		})
	})
}
