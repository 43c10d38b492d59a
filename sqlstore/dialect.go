package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between the backends. The queries in
// the entity files are shared and must stay within the SQL both accept:
// ON CONFLICT upserts and RETURNING (SQLite ≥ 3.35), partial indexes, TRUE
// and FALSE.
type dialect struct {
	name         string
	dollar       bool   // placeholders are $1, $2, … rather than ?
	forUpdate    string // suffix of a read that locks its rows inside Update
	skipLocked   string // suffix of a read that claims rows other transactions hold no lock on
	rowidInsert  bool   // an INSERT … RETURNING id runs as an Exec and reads the rowid
	readNoCancel bool   // Read's statements run without the caller's cancellation
	readCache    bool   // hot reads are cached across servers (readcache.go)
	updateOpts   sql.TxOptions
	viewOpts     sql.TxOptions
	classify     func(error) errClass
	onClose      func(writer *sql.DB)
}

type errClass int

const (
	errOther      errClass = iota
	errUnique              // a unique key exists already
	errForeignKey          // a referenced row does not exist
	errRetry               // transient: run the transaction again
)

// rebind writes the ? placeholders as the backend wants them. The shared
// queries hold no ? inside string literals, but quoted text is skipped
// anyway.
//
// PostgreSQL numbers them: $1, $2, ….
//
// SQLite gets +? (a no-op on any value): SQLite re-plans a statement whose
// bound value might change its plan each time that value changes, and
// since 3.50 it counts any column = ? of a join among them whenever an
// integer flips between 0 or 1 and another number (an auditid of 1, a
// grant's generation 1 or 2). A re-plan costs several times the
// statement, and on the writer every commit waits for it. An expression
// is planned as an unknown value, once, as the plans the queries were
// written for (see TestSQLiteNoReplan).
func (d *dialect) rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			if d.dollar {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			} else {
				b.WriteString("+?")
			}
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

//go:embed migrations
var migrations embed.FS

// migrate brings the schema up to date with the dialect's migrations.
func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, dir string, opts ...goose.ProviderOption) error {
	fsys, err := fs.Sub(migrations, "migrations/"+dir)
	if err != nil {
		return err
	}
	opts = append(opts, goose.WithLogger(goose.NopLogger()))
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// --- SQLite ---------------------------------------------------------------

var sqliteDialect = &dialect{
	name: "sqlite",
	// RETURNING collects its rows in a temporary b-tree, which made a lone
	// commit 15% dearer (72-77 against 62-66 µs); the id is the rowid
	// (every id column is INTEGER PRIMARY KEY), which the Exec returns.
	rowidInsert: true,
	// The driver starts a goroutine per statement to interrupt it should
	// its context end, dearer than the one-row lookup of a hot read; Read
	// checks the context before its statements instead.
	readNoCancel: true,
	// The writer's connection begins IMMEDIATE (_txlock), so default
	// options do; readers take a snapshot at their first read in WAL mode.
	viewOpts: sql.TxOptions{ReadOnly: true},
	classify: func(err error) errClass {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return errOther
		}
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey
		}
		if e.Code()&0xff == sqlite3.SQLITE_BUSY { // BUSY or an extended BUSY_*
			return errRetry
		}
		return errOther
	},
	onClose: func(w *sql.DB) {
		// Recommended before closing: refreshes planner statistics cheaply.
		_, _ = w.Exec("PRAGMA optimize")
	},
}

// sqliteBusyTimeout is how long a connection waits for another process's
// lock before SQLITE_BUSY (and Update's retries) take over.
const sqliteBusyTimeout = 5000 // ms

// sqliteSync is the synchronous pragma. In WAL mode NORMAL syncs at
// checkpoints, not at each commit: a commit that returned survives the
// process being killed (it is in the OS page cache; TestSQLiteKill) but a
// power loss or kernel crash may undo the last ones, never corrupting the
// file. FULL covers power loss at the cost of an fsync per commit (about
// ten times the cost of a small Update here; BenchmarkUpdate/sqlite-sync-full):
// a sqlite: URL may ask for it with ?synchronous=full.
const sqliteSync = "NORMAL"

// OpenSQLite opens (creating if need be) the SQLite database file at path.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	return openSQLite(ctx, path, sqliteBusyTimeout, sqliteSync)
}

// openSQLiteURL opens the path[?synchronous=normal|full] of a sqlite: URL.
func openSQLiteURL(ctx context.Context, rest string) (*Store, error) {
	path, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sqlite URL: %w", err)
	}
	sync := sqliteSync
	for k, v := range q {
		switch s := strings.ToUpper(v[len(v)-1]); {
		case k != "synchronous":
			return nil, fmt.Errorf("sqlstore: sqlite URL: unknown parameter %q", k)
		case s == "NORMAL" || s == "FULL":
			sync = s
		default:
			return nil, fmt.Errorf("sqlstore: sqlite URL: synchronous=%q: want normal or full", s)
		}
	}
	return openSQLite(ctx, path, sqliteBusyTimeout, sync)
}

func openSQLite(ctx context.Context, path string, busyMS int, sync string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		// The driver takes what follows ? as its own parameters.
		return nil, fmt.Errorf("sqlstore: invalid SQLite path %q", path)
	}
	busy := fmt.Sprintf("busy_timeout(%d)", busyMS)
	w := url.Values{"_txlock": {"immediate"}, "_pragma": {busy, "journal_mode(WAL)", "synchronous(" + sync + ")",
		"foreign_keys(1)", "wal_autocheckpoint(" + strconv.Itoa(walPages) + ")", // see checkpointer
		"journal_size_limit(" + strconv.Itoa(walLimit) + ")"}}
	r := url.Values{"_pragma": {busy, "query_only(1)"}}

	// Migrating first also puts the file in WAL mode before any reader
	// opens it. It runs on a connection of its own, without the writer's
	// temp_store below: a migration that rewrites a big table would keep
	// its statement journal, the table's pages, in memory.
	mig, err := sql.Open("sqlite", path+"?"+w.Encode())
	if err != nil {
		return nil, err
	}
	mig.SetMaxOpenConns(1)
	err = migrate(ctx, mig, goose.DialectSQLite3, "sqlite")
	if cerr := mig.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%w (database %s)", err, path)
	}

	// The writer keeps its savepoint journal in memory. A batch (batch.go)
	// runs each request in a SAVEPOINT, which copies every page it is the
	// first to change; past 64 KiB SQLite spilled that journal to a temp
	// file, a pwrite per page: 9% of the server's CPU under commit load.
	// The journal is emptied at each RELEASE, so it holds the pages one
	// write changes: a request's (a payload over maxBatchBytes runs alone,
	// without a savepoint), or one of the server's bounded sweeps (LIMIT).
	w.Add("_pragma", "temp_store(MEMORY)")
	// One writer connection: SQLite has one writer at a time anyway, and
	// queueing in database/sql is cheaper than spinning on the file lock.
	writer, err := sql.Open("sqlite", path+"?"+w.Encode())
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	reader, err := sql.Open("sqlite", path+"?"+r.Encode())
	if err != nil {
		writer.Close()
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	ckpt, err := sql.Open("sqlite", path+"?"+url.Values{"_pragma": {busy, "synchronous(" + sync + ")"}}.Encode())
	if err != nil {
		reader.Close()
		writer.Close()
		return nil, err
	}
	s := &Store{d: sqliteDialect, writer: writer, reader: reader,
		writerStmts: newStmtCache(writer), readerStmts: newStmtCache(reader),
		ckpt: newCheckpointer(ckpt, checkpointEvery)}
	s.batch = &batcher{s: s}
	return s, nil
}

// --- PostgreSQL -----------------------------------------------------------

var postgresDialect = &dialect{
	name:       "postgres",
	dollar:     true,
	readCache:  true,
	forUpdate:  " FOR UPDATE",
	skipLocked: " FOR UPDATE SKIP LOCKED",
	// READ COMMITTED with explicit row locks (LockAuthorizer) and atomic
	// upserts (AddCounter): conflicts wait rather than abort.
	updateOpts: sql.TxOptions{Isolation: sql.LevelReadCommitted},
	// A read-only REPEATABLE READ transaction sees one snapshot across its
	// statements and never fails with a serialization error.
	viewOpts: sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	classify: func(err error) errClass {
		var e *pgconn.PgError
		if !errors.As(err, &e) {
			return errOther
		}
		switch e.Code {
		case "23505": // unique_violation
			return errUnique
		case "23503": // foreign_key_violation
			return errForeignKey
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return errRetry
		}
		return errOther
	},
}

// postgresMaxConns caps each process's connections; several servers share
// the database's max_connections (100 by default).
const postgresMaxConns = 16

// OpenPostgres opens the PostgreSQL database a postgres:// URL names. Tables
// go in the connection's current schema (set search_path in the URL to pick
// another).
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	db.SetMaxOpenConns(postgresMaxConns)
	db.SetMaxIdleConns(postgresMaxConns)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	q, err := createVersionsIfSQL(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	// No stmtCache: pgx caches prepared statements per connection by
	// itself, and database/sql's on top measured no faster.
	s := &Store{d: postgresDialect, writer: db, reader: db, peer: newPeer(db, dsn)}
	s.peer.off.Store(o.noReadCache)
	s.reads = newReadCombiner(db, s.peer)
	if q != "" {
		s.combine = newCombiner(s, q)
	}
	return s, nil
}

// migratePostgres migrates under an advisory lock, as servers starting
// together would otherwise race to create the tables. The lock is keyed by
// schema so that databases in different schemas migrate independently.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	var schema string // '' when search_path names no existing schema: goose then fails clearly
	if err := db.QueryRowContext(ctx, "SELECT coalesce(current_schema(), '')").Scan(&schema); err != nil {
		return fmt.Errorf("sqlstore: connect: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("miniship migrations " + schema))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	return migrate(ctx, db, goose.DialectPostgres, "postgres", goose.WithSessionLocker(locker))
}
