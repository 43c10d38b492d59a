package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/miniship/miniship"
)

// On PostgreSQL the hot reads of Read (get_category, get_auditstatus)
// share statements (combine.go): one unnest … WITH ORDINALITY join, one
// row per request. Each request still reads the grant as it is when its
// statement starts, after the request began, so a revoke committed on any
// instance before a request came is seen by it. Should the shared
// statement fail, each caller runs its own (a read may run twice). SQLite
// reads run in the process, where a statement costs little more than its
// row, and are not shared.

// readFlight is how many shared reads of one kind a server runs at once.
const readFlight = 1

// readCombiner shares the hot reads of Read on PostgreSQL.
type readCombiner struct {
	db         *sql.DB
	peer       *peer // its cache answers before any statement runs
	categories group[*categoriesReq]
	audits     group[*auditReq]
}

func newReadCombiner(db *sql.DB, p *peer) *readCombiner {
	c := &readCombiner{db: db, peer: p}
	c.categories = group[*categoriesReq]{flight: readFlight, run: c.runCategories,
		tenant: func(r *categoriesReq) string { return r.platform }}
	c.audits = group[*auditReq]{flight: readFlight, run: c.runAudits,
		tenant: func(r *auditReq) string { return r.platform }}
	return c
}

// readReq is what every shared read has: the caller's Read, its outcome
// when it ran alone, and whether it must run alone after all.
type readReq struct {
	t     *tx
	err   error
	alone bool // the shared statement failed: run the caller's own
}

func (r *readReq) read() *readReq { return r }

type categoriesReq struct {
	readReq
	platform, authorizer string
	cats                 []miniship.Category
	grant                *miniship.Authorization
}

type auditReq struct {
	readReq
	platform, authorizer string
	id                   int64
	audit                *miniship.Audit
	grant                *miniship.Authorization
}

func (c *readCombiner) categoriesWithGrant(t *tx, platformAppID, authorizerAppID string) ([]miniship.Category, *miniship.Authorization, error) {
	if c.peer.off.Load() {
		return c.readCategories(t, platformAppID, authorizerAppID)
	}
	cache := c.peer.cache
	if cats, g, ok := cache.categories(platformAppID, authorizerAppID); ok {
		return cats, g, nil
	}
	c.peer.ensure()
	gen, fill := cache.begin()
	cats, g, err := c.readCategories(t, platformAppID, authorizerAppID)
	if fill && err == nil {
		cache.fill(gen, g, true, cats, nil)
	}
	return cats, g, err
}

func (c *readCombiner) readCategories(t *tx, platformAppID, authorizerAppID string) ([]miniship.Category, *miniship.Authorization, error) {
	r := &categoriesReq{readReq: readReq{t: t}, platform: platformAppID, authorizer: authorizerAppID}
	ran, complete := c.categories.do(t.ctx, r)
	if !ran {
		return nil, nil, t.fail("shared read", t.ctx.Err())
	}
	if r.alone || !complete { // a panicked batch: read it again
		return t.categoriesWithGrant(platformAppID, authorizerAppID)
	}
	return r.cats, r.grant, r.err
}

func (c *readCombiner) auditWithGrant(t *tx, platformAppID, authorizerAppID string, auditID int64) (*miniship.Audit, *miniship.Authorization, error) {
	if c.peer.off.Load() {
		return c.readAudit(t, platformAppID, authorizerAppID, auditID)
	}
	cache := c.peer.cache
	if a, g, ok := cache.audit(platformAppID, authorizerAppID, auditID); ok {
		return a, g, nil
	}
	c.peer.ensure()
	gen, fill := cache.begin()
	a, g, err := c.readAudit(t, platformAppID, authorizerAppID, auditID)
	if fill && err == nil {
		cache.fill(gen, g, false, nil, a)
	}
	return a, g, err
}

func (c *readCombiner) readAudit(t *tx, platformAppID, authorizerAppID string, auditID int64) (*miniship.Audit, *miniship.Authorization, error) {
	r := &auditReq{readReq: readReq{t: t}, platform: platformAppID, authorizer: authorizerAppID, id: auditID}
	ran, complete := c.audits.do(t.ctx, r)
	if !ran {
		return nil, nil, t.fail("shared read", t.ctx.Err())
	}
	if r.alone || !complete {
		return t.auditWithGrant(platformAppID, authorizerAppID, auditID)
	}
	return r.audit, r.grant, r.err
}

// The shared reads join each request's row by a LATERAL subquery that
// OFFSET 0 keeps from being flattened into the join: so every row is its
// own primary-key lookup, whatever the planner would make of the table's
// size or statistics. As plain joins, the generic plan PostgreSQL caches
// for the prepared statement, and a full batch's custom plan, hashed the
// unnested keys and scanned the whole table per statement.

// grantOfKey joins the grant of each row's platform and mini program.
const grantOfKey = `LEFT JOIN LATERAL (SELECT permission_sets, generation, created_at, token_seq FROM authorizations
		WHERE platform_appid = k.platform_appid AND authorizer_appid = k.authorizer_appid OFFSET 0) g ON true`

const categoriesWithGrantsSQL = `SELECT k.n, a.categories, ` + grantRead + `
	FROM unnest($1::TEXT[], $2::TEXT[]) WITH ORDINALITY AS k(platform_appid, authorizer_appid, n)
	CROSS JOIN LATERAL (SELECT categories FROM authorizers WHERE appid = k.authorizer_appid OFFSET 0) a
	` + grantOfKey

func (c *readCombiner) runCategories(batch []*categoriesReq) {
	runShared(c, batch, func(r *categoriesReq) {
		r.cats, r.grant, r.err = r.t.categoriesWithGrant(r.platform, r.authorizer)
	}, categoriesWithGrantsSQL, func() []any {
		ps, as := make([]string, len(batch)), make([]string, len(batch))
		for i, r := range batch {
			ps[i], as[i] = r.platform, r.authorizer
		}
		return []any{ps, as}
	}, func(rows *sql.Rows) error {
		var n int64
		var cats []miniship.Category
		var g grantCols
		if err := rows.Scan(append([]any{&n, jsonText{&cats}}, g.dest()...)...); err != nil {
			return err
		}
		r, err := pick(batch, n)
		if err != nil {
			return err
		}
		r.cats = cats
		r.grant, r.err = g.authorization(r.platform, r.authorizer)
		return r.err
	})
}

const auditsWithGrantsSQL = `SELECT k.n, au.status, au.reason, au.screenshot, ` + grantRead + `
	FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[]) WITH ORDINALITY AS k(platform_appid, authorizer_appid, id, n)
	CROSS JOIN LATERAL (SELECT status, reason, screenshot FROM audits
		WHERE id = k.id AND authorizer_appid = k.authorizer_appid OFFSET 0) au
	` + grantOfKey

func (c *readCombiner) runAudits(batch []*auditReq) {
	runShared(c, batch, func(r *auditReq) {
		r.audit, r.grant, r.err = r.t.auditWithGrant(r.platform, r.authorizer, r.id)
	}, auditsWithGrantsSQL, func() []any {
		ps, as, ids := make([]string, len(batch)), make([]string, len(batch)), make([]int64, len(batch))
		for i, r := range batch {
			ps[i], as[i], ids[i] = r.platform, r.authorizer, r.id
		}
		return []any{ps, as, ids}
	}, func(rows *sql.Rows) error {
		var n int64
		var au miniship.Audit
		var g grantCols
		if err := rows.Scan(append([]any{&n, &au.Status, &au.Reason, &au.ScreenShot}, g.dest()...)...); err != nil {
			return err
		}
		r, err := pick(batch, n)
		if err != nil {
			return err
		}
		au.ID, au.AuthorizerAppID = r.id, r.authorizer
		r.audit = &au
		r.grant, r.err = g.authorization(r.platform, r.authorizer)
		return r.err
	})
}

// runShared runs a batch of reads: a lone one by its own statement (lone),
// holding the place; more by q over args(), scan putting each row in its
// request. A request whose row does not come is ErrNotFound; should q
// fail, every caller reads on its own.
func runShared[R interface{ read() *readReq }](c *readCombiner, batch []R, lone func(R), q string, args func() []any, scan func(rows *sql.Rows) error) {
	if len(batch) == 1 {
		lone(batch[0])
		return
	}
	for _, r := range batch {
		r.read().err = miniship.ErrNotFound // unless its row comes
	}
	if err := query(c, batch, q, args(), scan); err != nil {
		for _, r := range batch {
			r.read().alone = true
		}
	}
}

// query runs a shared read of batch and hands each row to scan.
func query[R interface{ read() *readReq }](c *readCombiner, batch []R, q string, args []any, scan func(rows *sql.Rows) error) error {
	ctxs := make([]context.Context, len(batch))
	for i, r := range batch {
		ctxs[i] = r.read().t.ctx
	}
	ctx, cancel := sharedContext(ctxs)
	defer cancel()
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pick is the request of a shared statement's row: its ordinal, from 1.
func pick[R any](batch []R, n int64) (R, error) {
	if n < 1 || n > int64(len(batch)) {
		var zero R
		return zero, fmt.Errorf("sqlstore: shared statement returned row %d of %d", n, len(batch))
	}
	return batch[n-1], nil
}
