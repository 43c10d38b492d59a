package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// combiner shares PostgreSQL's commit statements: one INSERT … SELECT over
// arrays (createVersionsIfSQL). SQLite's commits are not shared: their
// group commit (batch.go) already shares BEGIN and COMMIT, and a shared
// statement there (which rows pass, then one multi-row INSERT) measured no
// cheaper than a statement and a savepoint pair each.
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

	ok    bool
	err   error
	alone bool // the shared statement stored nothing: run the caller's own
}

func newCombiner(s *Store, sql string) *combiner {
	b := &combiner{s: s, sql: sql}
	b.group = group[*versionReq]{flight: combineFlight, run: b.store, size: func(r *versionReq) int {
		return len(r.v.ExtJSON) + len(r.v.UserVersion) + len(r.v.UserDesc) + len(r.v.App) + len(r.v.Pages) + len(r.v.Ext)
	}, tenant: func(r *versionReq) string { return r.v.PlatformAppID }}
	return b
}

func (b *combiner) createVersionIf(ctx context.Context, v *miniship.Version, c miniship.CommitCheck) (bool, error) {
	r := &versionReq{ctx: ctx, v: v, c: c}
	ran, complete := b.do(ctx, r)
	switch {
	case !ran:
		return false, ctx.Err()
	case !complete: // the batch panicked: nobody knows what was stored
		return false, errors.New("sqlstore: the combined commit ended abnormally")
	case r.alone:
		return b.s.createVersionIfOne(ctx, v, c)
	}
	return r.ok, r.err
}

// store stores a batch, giving each request its outcome.
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
		rerun := nothingStored(err)
		for _, r := range live {
			r.ok, r.v.ID = false, 0
			if rerun {
				r.alone = true // nothing was stored
			} else {
				// Maybe stored (the connection failed, perhaps after
				// the commit): as for a lone statement, the caller is told.
				r.err = fmt.Errorf("sqlstore: combined commit: %w", err)
			}
		}
	}
}

// runCombined stores live in one statement; nothingStored tells what an
// error means.
func (b *combiner) runCombined(live []*versionReq) error {
	args, err := versionsArgs(live)
	if err != nil {
		return fmt.Errorf("%w: %w", errNotSent, err)
	}
	ctxs := make([]context.Context, len(live))
	for i, r := range live {
		ctxs[i] = r.ctx
	}
	ctx, cancel := sharedContext(ctxs)
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
			// Stored, but not as asked: the callers are told, not rerun.
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
// order of RETURNING is not defined. Drawing them takes USAGE on the
// sequence, which a plain INSERT does not: without it the answer is "",
// and commits run one statement each. Each mini program's versions are
// trimmed as a lone commit's are (KeepVersions, the smallest of its rows';
// none when 0), the window set back by the rows the statement stores for
// it, which its DELETE does not see.
func createVersionsIfSQL(ctx context.Context, db *sql.DB) (string, error) {
	var seq int64 // the sequence's oid: no name to quote, no schema to find
	var usage bool
	err := db.QueryRowContext(ctx, `SELECT s::oid::bigint, has_sequence_privilege(s, 'USAGE')
		FROM (SELECT pg_get_serial_sequence('versions', 'id')::regclass AS s) q`).Scan(&seq, &usage)
	if err != nil {
		return "", fmt.Errorf("sqlstore: the versions sequence: %w", err)
	}
	if !usage {
		return "", nil
	}
	cols := strings.Split(versionInsert, ",")
	arrays := make([]string, 0, len(cols)+4)
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
		arrays = append(arrays, "$"+strconv.Itoa(i+1)+"::"+versionTypes[i]+"[]")
	}
	k := len(cols)
	for i, typ := range []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT"} {
		arrays = append(arrays, "$"+strconv.Itoa(k+i+1)+"::"+typ+"[]")
	}
	list := strings.Join(cols, ", ")
	return `WITH v AS (
		SELECT * FROM unnest(` + strings.Join(arrays, ", ") + `)
			WITH ORDINALITY AS v(` + list + `, grants_rev, generation, token_created_at, token_seq_below, keep_versions, perm, n)
	), ok AS (
		SELECT nextval(` + strconv.FormatInt(seq, 10) + `::oid::regclass) AS id, v.* FROM v
		WHERE EXISTS (SELECT 1 FROM authorizers a
			JOIN authorizations g ON g.platform_appid = v.platform_appid AND g.authorizer_appid = a.appid
			JOIN templates t ON t.platform_appid = v.platform_appid AND t.id = v.template_id
			WHERE a.appid = v.authorizer_appid AND a.commit_until = $` + strconv.Itoa(k+7) + `
			AND a.grants_rev = v.grants_rev AND NOT t.deleted
			AND g.generation = v.generation AND g.created_at <= v.token_created_at
			AND g.token_seq < v.token_seq_below
			AND replace(replace(g.permission_sets, '[', ','), ']', ',') LIKE v.perm)
	), ins AS (
		INSERT INTO versions (id, ` + list + `) OVERRIDING SYSTEM VALUE
		SELECT id, ` + list + ` FROM ok
	), trim AS (
		DELETE FROM versions WHERE id IN (SELECT v.id
			FROM (SELECT authorizer_appid, COUNT(*) AS c, MIN(keep_versions) AS keep FROM ok GROUP BY authorizer_appid) o
			CROSS JOIN LATERAL (SELECT id FROM versions WHERE authorizer_appid = o.authorizer_appid
				ORDER BY id DESC LIMIT $` + strconv.Itoa(k+8) + ` OFFSET GREATEST(o.keep - o.c, 0)) v
			WHERE o.keep > 0 AND ` + unnamed + `)
	)
	SELECT n, id FROM ok`, nil
}

// versionsArgs is the arrays createVersionsIfSQL takes: a column of
// versionArgs each, then the checks, then the zero commit claim and the
// trim's window.
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
	rev, gen, created, below, keep := make([]int64, len(live)), make([]int64, len(live)), make([]int64, len(live)),
		make([]int64, len(live)), make([]int64, len(live))
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
		rev[j], gen[j], created[j], below[j], perm[j] = r.c.GrantsRev, r.c.Generation, at.(int64), r.c.TokenSeqBelow, permPattern(r.c.Perm)
		keep[j] = int64(r.c.KeepVersions)
	}
	noClaim, _ := nanos(time.Time{}).Value()
	return append(cols, rev, gen, created, below, keep, perm, noClaim, trimWindow), nil
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

// createVersionIfOne is one commit's own statement: on SQLite, with a
// trim, two statements in the group commit's transaction.
func (s *Store) createVersionIfOne(ctx context.Context, v *miniship.Version, c miniship.CommitCheck) (ok bool, err error) {
	update := s.UpdateOne
	if c.KeepVersions > 0 && s.d.name != "postgres" {
		update = s.Update
	}
	err = update(ctx, func(tx miniship.Tx) (err error) {
		ok, err = tx.CreateVersionIf(v, c)
		return err
	})
	return ok, err
}

// CreateVersionIf stores v if c holds as it is stored; ok is false when
// it stored nothing. On PostgreSQL concurrent calls share statements
// (combiner) unless the role lacks USAGE on the versions sequence; on
// SQLite each runs in the group commit.
func (s *Store) CreateVersionIf(ctx context.Context, v *miniship.Version, c miniship.CommitCheck) (bool, error) {
	if s.combine != nil {
		return s.combine.createVersionIf(ctx, v, c)
	}
	return s.createVersionIfOne(ctx, v, c)
}
