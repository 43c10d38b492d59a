package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miniship/miniship"
)

// On SQLite the commits a combiner gathers go into the group commit as one
// Update of two statements, in place of a statement and a savepoint pair
// each: one reads which rows pass their checks, one inserts those rows.
// Inside the single writer's transaction nothing moves between the two.

// storeSQLite stores live in one Update. refused reports an error of its
// own function, after which nothing of it is kept; any other error leaves
// the outcome unknown.
func (b *combiner) storeSQLite(live []*versionReq) (refused bool, err error) {
	// The batch's, not the head's: one caller gone must not fail the
	// others. (A caller whose context ends from here on is stored, and
	// told so, as if it had ended just after.)
	ctx := context.WithoutCancel(live[0].ctx)
	err = b.s.Update(ctx, func(mt miniship.Tx) (err error) {
		defer func() { refused = err != nil }()
		t := mt.(*tx)
		for _, r := range live { // Update may run this again
			r.ok, r.v.ID = false, 0
		}
		pass, err := t.versionsPassing(live)
		if err != nil || len(pass) == 0 {
			return err
		}
		ids, err := t.insertVersions(pass)
		if err != nil {
			return err
		}
		if len(ids) != len(pass) {
			return t.fail("INSERT INTO versions", fmt.Errorf("%d ids for %d rows", len(ids), len(pass)))
		}
		// The rows were inserted in order, each with a larger id than the
		// last; RETURNING's own order is not defined.
		slices.Sort(ids)
		for i, r := range pass {
			r.ok, r.v.ID = true, ids[i]
		}
		return nil
	})
	return refused, err
}

// sqliteChecks[n] and sqliteInserts[n] are the statements for n commits.
var sqliteChecks, sqliteInserts = func() (checks, inserts [maxBatch + 1]string) {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(versionTypes)), ", ") + ")"
	for n := 2; n <= maxBatch; n++ {
		var vs, rs []string
		for i := 1; i <= n; i++ {
			vs = append(vs, "(?, ?, ?, ?, ?, ?, ?, "+strconv.Itoa(i)+")")
			rs = append(rs, row)
		}
		checks[n] = `WITH v(authorizer_appid, platform_appid, template_id, grants_rev, generation, token_created_at, perm, n)
			AS (VALUES ` + strings.Join(vs, ", ") + `)
			SELECT v.n FROM v WHERE EXISTS (SELECT 1 FROM authorizers a
				JOIN authorizations g ON g.platform_appid = v.platform_appid AND g.authorizer_appid = a.appid
				JOIN templates t ON t.platform_appid = v.platform_appid AND t.id = v.template_id
				WHERE a.appid = v.authorizer_appid AND a.commit_until = ? AND a.grants_rev = v.grants_rev AND NOT t.deleted
				AND g.generation = v.generation AND g.created_at <= v.token_created_at
				AND replace(replace(g.permission_sets, '[', ','), ']', ',') LIKE v.perm)
			ORDER BY v.n`
		inserts[n] = `INSERT INTO versions (` + versionInsert + `) VALUES ` + strings.Join(rs, ", ") + ` RETURNING id`
	}
	return checks, inserts
}()

// versionsPassing is the requests of live whose checks hold, in order.
func (t *tx) versionsPassing(live []*versionReq) ([]*versionReq, error) {
	q := sqliteChecks[len(live)]
	args := make([]any, 0, 7*len(live)+1)
	for _, r := range live {
		args = append(args, r.v.AuthorizerAppID, r.v.PlatformAppID, r.v.TemplateID, r.c.GrantsRev, r.c.Generation,
			nanos(r.c.TokenCreatedAt), permPattern(r.c.Perm))
	}
	args = append(args, nanos(time.Time{}))
	ns, err := all(t, func(r scanner, n *int) error { return r.Scan(n) }, q, args...)
	if err != nil {
		return nil, err
	}
	pass := make([]*versionReq, len(ns))
	for i, n := range ns {
		if *n < 1 || *n > len(live) {
			return nil, t.fail(q, fmt.Errorf("row %d of %d", *n, len(live)))
		}
		pass[i] = live[*n-1]
	}
	return pass, nil
}

// insertVersions inserts the versions of pass; their ids, in no order.
func (t *tx) insertVersions(pass []*versionReq) ([]int64, error) {
	if len(pass) == 1 {
		id, err := t.insertID(createVersionSQL, versionArgs(pass[0].v)...)
		return []int64{id}, err
	}
	args := make([]any, 0, len(versionTypes)*len(pass))
	for _, r := range pass {
		args = append(args, versionArgs(r.v)...)
	}
	ids, err := all(t, func(r scanner, id *int64) error { return r.Scan(id) }, sqliteInserts[len(pass)], args...)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = *id
	}
	return out, nil
}
