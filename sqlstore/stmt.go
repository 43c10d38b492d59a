package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
)

// stmtCache holds a pool's prepared statements (SQLite only; nil on
// PostgreSQL, see OpenPostgres), keyed by query text as the
// query helpers receive it (before rebind, which is a pure function of the
// text for the store's one dialect). Statements are prepared once per
// *sql.DB and used inside transactions through Tx.StmtContext, which
// database/sql re-prepares once per connection and keeps.
//
// Every query is a constant or a constant with a fixed suffix (LIMIT ?,
// FOR UPDATE, an optional WHERE): none embeds a value, so the set of texts
// is small and fixed (under a hundred). maxStmts is a backstop should that
// ever change: past it, queries run unprepared as before.
//
// A statement is prepared after the transaction that first ran its query
// has ended, never during one: preparing on the *sql.DB needs a connection
// of its own, and SQLite's writer has only one, held by the transaction.
// That first run, and any run whose preparation failed, takes the
// unprepared path, so results and errors are those of the statement itself
// either way.
type stmtCache struct {
	db     *sql.DB
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
}

const maxStmts = 256

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[q]
}

// prepare prepares the queries not cached yet; failures are left for a
// later transaction to retry.
func (c *stmtCache) prepare(ctx context.Context, d *dialect, qs []string) {
	for _, q := range qs {
		c.mu.RLock()
		_, ok := c.m[q]
		skip := ok || c.closed || len(c.m) >= maxStmts
		c.mu.RUnlock()
		if skip {
			continue
		}
		st, err := c.db.PrepareContext(ctx, d.rebind(q))
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, ok := c.m[q]; ok || c.closed || len(c.m) >= maxStmts {
			st.Close() // another transaction's, or the store closed meanwhile
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var err error
	for q, st := range c.m {
		err = errors.Join(err, st.Close())
		delete(c.m, q)
	}
	return err
}

// stmt is the transaction's handle on q's prepared statement, or nil when
// there is none yet (q is then noted for preparing after the transaction).
func (t *tx) stmt(q string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	if st := t.stmts.get(q); st != nil {
		if t.tx == nil { // Read: the pool's statement itself
			return st
		}
		return t.tx.StmtContext(t.ctx, st)
	}
	t.missed = append(t.missed, q)
	return nil
}

func (t *tx) execContext(q string, args []any) (sql.Result, error) {
	if err := t.allow(q); err != nil {
		return nil, err // exec records it through fail
	}
	if st := t.stmt(q); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	if t.tx == nil {
		return t.db.ExecContext(t.ctx, t.d.rebind(q), args...)
	}
	return t.tx.ExecContext(t.ctx, t.d.rebind(q), args...)
}

func (t *tx) queryRowContext(q string, args []any) *sql.Row {
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.runner().QueryRowContext(t.ctx, t.d.rebind(q), args...)
}

func (t *tx) queryContext(q string, args []any) (*sql.Rows, error) {
	if err := t.allow(q); err != nil {
		return nil, err
	}
	if st := t.stmt(q); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.runner().QueryContext(t.ctx, t.d.rebind(q), args...)
}

// runner is what an unprepared statement runs on: the transaction, or in
// Read the pool.
func (t *tx) runner() interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
} {
	if t.tx == nil {
		return t.db
	}
	return t.tx
}

// allow refuses what a statement outside a transaction may not do: write
// in Read, or be the second of UpdateOne.
func (t *tx) allow(q string) error {
	if t.d.readCache && !t.stale && (t.write || t.one) && writesCached(q) {
		t.stale = true
	}
	if t.one {
		if t.ran {
			return errTwoStatements
		}
		t.ran = true
		return nil
	}
	if t.tx == nil && !isSelect(q) {
		return errWriteInRead
	}
	return nil
}

// errTwoStatements refuses a second statement in UpdateOne, which has no
// transaction to make two atomic.
var errTwoStatements = errors.New("sqlstore: a second statement inside UpdateOne")

// errWriteInRead refuses a write inside Read, which has no transaction to
// make it atomic (SQLite's readers refuse writes anyway; PostgreSQL's pool
// would not).
var errWriteInRead = errors.New("sqlstore: a write inside Read")

// isSelect tells a read from an INSERT … RETURNING run as a query, and
// from a CTE that writes.
func isSelect(q string) bool {
	q = strings.TrimLeft(q, " \t\n")
	if len(q) < 6 {
		return false
	}
	if strings.EqualFold(q[:6], "SELECT") {
		return true
	}
	if !strings.EqualFold(q[:4], "WITH") {
		return false
	}
	u := strings.ToUpper(q)
	return !strings.Contains(u, "INSERT") && !strings.Contains(u, "UPDATE") && !strings.Contains(u, "DELETE")
}
