package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/miniship/miniship"
)

// On PostgreSQL a commit is one INSERT … SELECT, and what it costs the
// database is mostly per statement rather than per row: waking a backend,
// a round trip, a WAL flush at its end. So concurrent commits share
// statements: while one runs, the commits that arrive queue, and the next
// statement stores all of them (up to maxBatch) from arrays, each row under
// its own checks, so a row whose check fails stores nothing for its own
// caller alone. A caller returns only after the statement that holds its
// row has committed (it runs without a transaction, so its end is its
// commit). Should the statement fail in the database, each of its callers
// runs its own, as without the combiner. The hot reads of Read share
// statements the same way (combine_read.go).

// group runs concurrent requests of one kind together. Leadership passes
// from caller to caller as in batcher: a caller that finds fewer than
// flight batches running runs its own request at once (a lone request
// never waits), and a caller whose batch ends hands the queue's head batch
// to its oldest request, whose caller runs it. No goroutine belongs to it.
type group[R any] struct {
	flight int             // batches that may run at once
	run    func(batch []R) // gives every request of the batch its outcome

	mu      sync.Mutex
	running int
	queue   []*member[R]

	batches atomic.Int64 // batches of more than one request, for tests
}

type member[R any] struct {
	r     R
	wake  chan struct{} // closed when done, or when handed batch
	batch []*member[R]  // set before wake is closed: run it, then hand on
}

// do runs r, alone or in a batch, and returns when r has its outcome.
func (g *group[R]) do(r R) {
	m := &member[R]{r: r}
	g.mu.Lock()
	if g.running < g.flight {
		g.running++
		g.mu.Unlock()
		g.lead([]*member[R]{m})
		return
	}
	m.wake = make(chan struct{})
	g.queue = append(g.queue, m)
	g.mu.Unlock()
	<-m.wake
	if m.batch != nil {
		g.lead(m.batch)
	}
}

// lead runs batch, whose head is the caller's own request, then hands the
// next batch on (or frees its place) and wakes the rest of its own, even
// when run panics.
func (g *group[R]) lead(batch []*member[R]) {
	defer func() {
		g.handOn()
		for _, m := range batch[1:] {
			close(m.wake)
		}
	}()
	rs := make([]R, len(batch))
	for i, m := range batch {
		rs[i] = m.r
	}
	if len(rs) > 1 {
		g.batches.Add(1)
	}
	g.run(rs)
}

// handOn gives a batch's place to the queue's head batch, or frees it.
func (g *group[R]) handOn() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.running--
		return
	}
	n := min(len(g.queue), maxBatch)
	next := g.queue[0]
	next.batch = g.queue[:n:n]
	g.queue = g.queue[n:]
	close(next.wake)
}

// combiner shares commit statements on PostgreSQL.
type combiner struct {
	s   *Store
	sql string // createVersionsIfSQL for this database's sequence
	group[*versionReq]
}

// combineFlight is how many commit statements one server runs at once;
// more commits wait for one of them to end and share the next. One
// measured best (two and four cost 15% and 45% more a commit).
const combineFlight = 1

type versionReq struct {
	ctx context.Context
	v   *miniship.Version
	c   miniship.CommitCheck

	ok, done bool
	err      error
	alone    bool // the combined statement stored nothing: run the caller's own
}

func newCombiner(s *Store, sql string) *combiner {
	b := &combiner{s: s, sql: sql}
	b.group = group[*versionReq]{flight: combineFlight, run: b.run}
	return b
}

func (b *combiner) createVersionIf(ctx context.Context, v *miniship.Version, c miniship.CommitCheck) (bool, error) {
	r := &versionReq{ctx: ctx, v: v, c: c}
	b.do(r)
	switch {
	case r.alone:
		return b.s.createVersionIfOne(ctx, v, c)
	case !r.done: // the batch panicked: nobody knows what was stored
		return false, errors.New("sqlstore: the combined commit ended abnormally")
	}
	return r.ok, r.err
}

// run stores a batch; a request it did not get to the end of (a panic)
// is not done.
func (b *combiner) run(batch []*versionReq) {
	b.store(batch)
	for _, r := range batch {
		r.done = true
	}
}

func (b *combiner) store(batch []*versionReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		r := live[0]
		r.ok, r.err = b.s.createVersionIfOne(r.ctx, r.v, r.c)
		return
	}
	if err := b.runCombined(live); err != nil {
		var pg *pgconn.PgError
		rerun := errors.Is(err, errNotSent) || errors.As(err, &pg)
		for _, r := range live {
			r.ok, r.v.ID = false, 0
			if rerun {
				r.alone = true // nothing was stored
			} else {
				// The connection failed, maybe after the statement
				// committed: as for a lone statement, the caller is told.
				r.err = fmt.Errorf("sqlstore: combined commit: %w", err)
			}
		}
	}
}

// errNotSent marks a combined statement that failed before it was sent.
var errNotSent = errors.New("sqlstore: not sent")

// combineTimeout bounds a combined statement, which no caller can cancel.
const combineTimeout = time.Minute

// runCombined stores live in one statement. An error reported by the
// database, or errNotSent, means that nothing was stored.
func (b *combiner) runCombined(live []*versionReq) error {
	args, err := versionsArgs(live)
	if err != nil {
		return fmt.Errorf("%w: %w", errNotSent, err)
	}
	// The statement is the batch's, not the head's: one caller gone must
	// not fail the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), combineTimeout)
	defer cancel()
	rows, err := b.s.writer.QueryContext(ctx, b.sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n, id int64
		if err := rows.Scan(&n, &id); err != nil {
			return err
		}
		if n < 1 || n > int64(len(live)) {
			return fmt.Errorf("sqlstore: combined commit returned row %d of %d", n, len(live))
		}
		r := live[n-1]
		r.ok, r.v.ID = true, id
	}
	return rows.Err()
}

// createVersionsIfSQL is createVersionIfSQL over arrays, one row per
// commit (WITH ORDINALITY numbers them), checked row by row. Ids are drawn
// in the statement so that the answer can say which row got which: the
// order of RETURNING is not defined.
func createVersionsIfSQL(ctx context.Context, db *sql.DB) (string, error) {
	var seq string
	if err := db.QueryRowContext(ctx, `SELECT pg_get_serial_sequence('versions', 'id')`).Scan(&seq); err != nil {
		return "", fmt.Errorf("sqlstore: the versions sequence: %w", err)
	}
	cols := strings.Split(versionInsert, ",")
	arrays := make([]string, 0, len(cols)+4)
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
		arrays = append(arrays, "$"+strconv.Itoa(i+1)+"::"+versionTypes[i]+"[]")
	}
	k := len(cols)
	for i, typ := range []string{"BIGINT", "BIGINT", "BIGINT", "TEXT"} {
		arrays = append(arrays, "$"+strconv.Itoa(k+i+1)+"::"+typ+"[]")
	}
	list := strings.Join(cols, ", ")
	return `WITH v AS (
		SELECT * FROM unnest(` + strings.Join(arrays, ", ") + `)
			WITH ORDINALITY AS v(` + list + `, grants_rev, generation, token_created_at, perm, n)
	), ok AS (
		SELECT nextval(` + quoteLiteral(seq) + `::regclass) AS id, v.* FROM v
		WHERE EXISTS (SELECT 1 FROM authorizers a
			JOIN authorizations g ON g.platform_appid = v.platform_appid AND g.authorizer_appid = a.appid
			JOIN templates t ON t.platform_appid = v.platform_appid AND t.id = v.template_id
			WHERE a.appid = v.authorizer_appid AND a.commit_until = $` + strconv.Itoa(k+5) + `
			AND a.grants_rev = v.grants_rev AND NOT t.deleted
			AND g.generation = v.generation AND g.created_at <= v.token_created_at
			AND replace(replace(g.permission_sets, '[', ','), ']', ',') LIKE v.perm)
	), ins AS (
		INSERT INTO versions (id, ` + list + `) OVERRIDING SYSTEM VALUE
		SELECT id, ` + list + ` FROM ok ORDER BY n
	)
	SELECT n, id FROM ok`, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// versionsArgs is the arrays createVersionsIfSQL takes: a column of
// versionArgs each, then the checks, then the zero commit claim.
func versionsArgs(live []*versionReq) ([]any, error) {
	cols := make([]any, len(versionTypes))
	for i, typ := range versionTypes {
		switch typ {
		case "TEXT":
			cols[i] = make([]*string, len(live))
		case "BIGINT":
			cols[i] = make([]int64, len(live))
		case "BOOLEAN":
			cols[i] = make([]bool, len(live))
		}
	}
	rev, gen, created := make([]int64, len(live)), make([]int64, len(live)), make([]int64, len(live))
	perm := make([]string, len(live))
	for j, r := range live {
		for i, a := range versionArgs(r.v) {
			if err := setColumn(cols[i], j, a); err != nil {
				return nil, fmt.Errorf("sqlstore: version column %d: %w", i, err)
			}
		}
		at, err := nanos(r.c.TokenCreatedAt).Value()
		if err != nil {
			return nil, err
		}
		rev[j], gen[j], created[j], perm[j] = r.c.GrantsRev, r.c.Generation, at.(int64), permPattern(r.c.Perm)
	}
	noClaim, _ := nanos(time.Time{}).Value()
	return append(cols, rev, gen, created, perm, noClaim), nil
}

// setColumn puts an argument, as its driver value, in row j of a column.
func setColumn(col any, j int, a any) error {
	v := a
	if vr, ok := a.(driver.Valuer); ok {
		var err error
		if v, err = vr.Value(); err != nil {
			return err
		}
	}
	switch c := col.(type) {
	case []*string:
		switch x := v.(type) {
		case nil:
		case string:
			c[j] = &x
		case []byte:
			s := string(x)
			c[j] = &s
		default:
			return fmt.Errorf("%T in a text column", v)
		}
	case []int64:
		x, ok := v.(int64)
		if !ok {
			return fmt.Errorf("%T in a bigint column", v)
		}
		c[j] = x
	case []bool:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%T in a boolean column", v)
		}
		c[j] = x
	}
	return nil
}

// createVersionIfOne is one commit's own statement.
func (s *Store) createVersionIfOne(ctx context.Context, v *miniship.Version, c miniship.CommitCheck) (ok bool, err error) {
	err = s.UpdateOne(ctx, func(tx miniship.Tx) (err error) {
		ok, err = tx.CreateVersionIf(v, c)
		return err
	})
	return ok, err
}

// CreateVersionIf stores v in one statement if c holds as it runs; ok is
// false when it stored nothing. On PostgreSQL concurrent calls share a
// statement (combiner); on SQLite it runs in the group commit.
func (s *Store) CreateVersionIf(ctx context.Context, v *miniship.Version, c miniship.CommitCheck) (bool, error) {
	if s.combine != nil {
		return s.combine.createVersionIf(ctx, v, c)
	}
	return s.createVersionIfOne(ctx, v, c)
}
