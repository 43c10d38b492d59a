// Package sqlstore is the miniship.Store on SQL databases: SQLite (through
// modernc.org/sqlite, pure Go) for a single server, PostgreSQL (through
// pgx) for several servers sharing one database.
//
// It is one package with two dialects, not a package per backend, because
// the SQL is shared: every query is written once, with ? placeholders, and
// the few differences (placeholder style, row locks, error codes,
// transaction options, the DDL) sit in dialect.go and the per-dialect
// migration files. Two copies of forty-odd queries would drift apart, and
// one test suite runs against both.
//
// SQLite runs in WAL mode with synchronous=NORMAL: a commit that returned
// survives the process being killed, but a power loss or OS crash may undo
// the last commits (it never corrupts the file). PostgreSQL's durability is
// its own configuration's.
//
// Times are stored as Unix nanoseconds in UTC, exact on both backends; the
// zero time round-trips as zero. JSON-valued fields (categories, page
// lists, engine output) are TEXT holding JSON. The schema is migrated by
// goose when a Store is opened.
//
// Transactions: View runs read-only, on a snapshot. Update on SQLite runs on
// a single writer connection whose transactions begin IMMEDIATE, so writers
// queue instead of failing midway; on PostgreSQL it runs READ COMMITTED and
// LockAuthorizer takes a row lock (SELECT … FOR UPDATE). Update reruns its
// function when the database reports a transient conflict (SQLITE_BUSY,
// serialization failure, deadlock), so the function may run more than once
// and must keep its side effects inside the transaction. Nothing relies on
// in-process locks: several processes may share a PostgreSQL database.
//
// Within a transaction, a failed statement (other than a lookup that finds
// nothing or a Create that finds its key taken) ends the transaction's
// usefulness on both backends: later calls return the same error and the
// transaction is rolled back even if the function returns nil. PostgreSQL
// behaves so by itself; the store makes SQLite agree.
//
// To add a table: a new numbered migration in both migrations/sqlite and
// migrations/postgres, then the Tx methods in the entity file of its group
// (column list, scan function and queries side by side), and their cases
// in runSuite, which every backend runs.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// Store implements miniship.Store.
type Store struct {
	d      *dialect
	writer *sql.DB // SQLite: one connection; PostgreSQL: the pool
	reader *sql.DB // SQLite: a pool of read-only connections; PostgreSQL: the pool

	writerStmts, readerStmts *stmtCache // prepared statements; nil on PostgreSQL

	batch   *batcher      // SQLite: Updates as a group commit; nil on PostgreSQL
	ckpt    *checkpointer // SQLite: checkpoints off the writer; nil on PostgreSQL
	combine *combiner     // PostgreSQL: commits share statements; nil on SQLite
	reads   *readCombiner // PostgreSQL: Read's hot reads share statements; nil on SQLite
	peer    *peer         // PostgreSQL: the read cache across servers; nil on SQLite
}

var _ miniship.Store = (*Store)(nil)

// Open opens the store a DSN names and brings its schema up to date:
//
//   - postgres://… or postgresql://… opens PostgreSQL (see OpenPostgres);
//   - sqlite:///abs/path.db or sqlite:rel/path.db opens SQLite, and may end
//     in ?synchronous=full to sync every commit (see sqliteSync);
//   - anything else without a scheme is an SQLite file path.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return OpenPostgres(ctx, dsn, opts...)
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLiteURL(ctx, strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"))
	case strings.Contains(dsn, "://"):
		return nil, fmt.Errorf("sqlstore: unknown database URL scheme in %q", redact(dsn))
	}
	return OpenSQLite(ctx, dsn)
}

// Option changes how a store is opened.
type Option func(*options)

type options struct {
	noReadCache bool
}

// WithoutReadCache turns PostgreSQL's read cache (readcache.go) off for
// this server: its hot reads go to the database, and it holds no listener.
// Its writes still wait for the other servers' caches. SQLite has none.
func WithoutReadCache() Option { return func(o *options) { o.noReadCache = true } }

// Backend names the database: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// Close closes the database.
func (s *Store) Close() error {
	var err error
	if s.ckpt != nil {
		err = s.ckpt.close()
	}
	if s.peer != nil {
		s.peer.close()
	}
	if s.d.onClose != nil {
		s.d.onClose(s.writer)
	}
	err = errors.Join(err, s.readerStmts.close())
	if s.writerStmts != s.readerStmts {
		err = errors.Join(err, s.writerStmts.close())
	}
	err = errors.Join(err, s.reader.Close())
	if s.writer != s.reader {
		err = errors.Join(err, s.writer.Close())
	}
	return err
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.run(ctx, s.reader, s.readerStmts, &s.d.viewOpts, false, fn)
}

// Read runs fn's statements each on its own, outside any transaction: no
// BEGIN and COMMIT (two round trips on PostgreSQL), but two statements may
// see different states of the database. It is for the hot reads whose
// statements need not agree: a grant check and the one row the request
// reads, where a revoke between the two is as if it came just after. fn
// must not write (its statements fail). On SQLite a statement already
// running is not interrupted when ctx ends (see readNoCancel): each is a
// lookup of one row.
func (s *Store) Read(ctx context.Context, fn func(miniship.Tx) error) error {
	stmtCtx := ctx
	if s.d.readNoCancel {
		stmtCtx = context.WithoutCancel(ctx)
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := &tx{ctx: stmtCtx, db: s.reader, d: s.d, stmts: s.readerStmts, reads: s.reads}
		err := fn(t)
		if len(t.missed) > 0 {
			s.readerStmts.prepare(ctx, s.d, t.missed)
		}
		if err == nil && t.err != nil {
			err = t.err
		}
		// As View reruns on a transient conflict (a reader's rare
		// SQLITE_BUSY), so does Read.
		if t.err == nil || s.d.classify(t.err) != errRetry || attempt == maxAttempts {
			return err
		}
		d := time.Duration(1<<attempt) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d + rand.N(d)):
		}
	}
}

// UpdateOne is Update for a function that runs one statement, atomic by
// itself: PostgreSQL runs it without BEGIN and COMMIT (one round trip
// instead of three), SQLite as Update, in its group commit, where it may
// run again as any Update may. A second statement fails.
func (s *Store) UpdateOne(ctx context.Context, fn func(miniship.Tx) error) error {
	if s.batch != nil {
		return s.batch.update(ctx, fn, true)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &tx{ctx: ctx, db: s.writer, d: s.d, write: true, one: true, stmts: s.writerStmts}
	err := fn(t)
	if err == nil && t.err != nil {
		err = t.err
	}
	if err == nil && t.stale {
		err = s.barrier(ctx)
	}
	return err
}

// Update runs fn in a read-write transaction, committed when fn returns nil.
// fn may run again if the database reports a transient conflict.
func (s *Store) Update(ctx context.Context, fn func(miniship.Tx) error) error {
	if s.batch != nil {
		return s.batch.update(ctx, fn, false)
	}
	return s.run(ctx, s.writer, s.writerStmts, &s.d.updateOpts, true, fn)
}

// maxAttempts bounds the reruns of a transaction on transient conflicts.
// Waiting for locks is the database's job (busy_timeout, row locks); this is
// the backstop when that wait runs out or a deadlock is broken.
const maxAttempts = 8

func (s *Store) run(ctx context.Context, db *sql.DB, stmts *stmtCache, opts *sql.TxOptions, write bool, fn func(miniship.Tx) error) error {
	for attempt := 1; ; attempt++ {
		retry, err := s.once(ctx, db, stmts, opts, write, fn)
		if !retry || attempt == maxAttempts {
			return err
		}
		// Exponential backoff from 2ms to 128ms, with as much again in
		// jitter, so that the transactions that collided fall out of step.
		d := time.Duration(1<<attempt) * time.Millisecond
		d += rand.N(d)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

// once runs one transaction. retry reports a transient failure worth a rerun.
func (s *Store) once(ctx context.Context, db *sql.DB, stmts *stmtCache, opts *sql.TxOptions, write bool, fn func(miniship.Tx) error) (retry bool, err error) {
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return s.d.classify(err) == errRetry, fmt.Errorf("sqlstore: begin: %w", err)
	}
	t := &tx{ctx: ctx, tx: sqlTx, d: s.d, write: write, stmts: stmts}
	defer func() {
		// After the Rollback below has given the connection back (the
		// SQLite writer has only one).
		if len(t.missed) > 0 {
			stmts.prepare(ctx, s.d, t.missed)
		}
	}()
	defer sqlTx.Rollback() // after fn fails or panics; a no-op after Commit
	err = fn(t)
	if err == nil && t.err != nil {
		// fn ignored a failed statement: committing would store half of it.
		err = t.err
	}
	if err != nil {
		// The cause of a retry can hide behind whatever fn made of it.
		return t.err != nil && s.d.classify(t.err) == errRetry, err
	}
	if t.stale {
		// Whether a trigger saw a kept row change (an UPDATE of a mini
		// program need not touch its categories): one round trip here
		// against the barrier's several.
		var dirty sql.NullString
		if err := sqlTx.QueryRowContext(ctx, "SELECT current_setting('miniship.cache_dirty', true)").Scan(&dirty); err != nil {
			return s.d.classify(err) == errRetry, fmt.Errorf("sqlstore: %w", err)
		}
		t.stale = dirty.String == "1"
	}
	if err := sqlTx.Commit(); err != nil {
		return s.d.classify(err) == errRetry, fmt.Errorf("sqlstore: commit: %w", err)
	}
	if t.stale {
		return false, s.barrier(ctx)
	}
	return false, nil
}

// redact hides the password of a URL-shaped DSN in error messages.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.IndexByte(dsn[i+3:], '@'); j >= 0 {
			return dsn[:i+3] + "…@" + dsn[i+3+j+1:]
		}
	}
	return dsn
}
