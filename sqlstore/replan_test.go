package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"

	"github.com/miniship/miniship"
)

// TestSQLiteNoReplan: a hot statement runs on the plan it was prepared
// with whatever integers are bound (see rebind). SQLite calls the
// authorizer while it compiles a statement, so its calls count the
// compilations; the store's pools are cut to one connection each so that
// every statement runs where the authorizer is.
func TestSQLiteNoReplan(t *testing.T) {
	s := openSQLiteT(t)
	ctx := t.Context()
	fixtures(t, s)
	var audits [2]int64
	var tpl, gen, rev int64
	update(t, s, func(tx miniship.Tx) error {
		tpl, gen, rev = commitFixtures(t, tx)
		v := &miniship.Version{AuthorizerAppID: "wxa", UserVersion: "1.0.0"}
		ok(t, tx.CreateVersion(v))
		for i := range audits {
			a := &miniship.Audit{AuthorizerAppID: "wxa", PlatformAppID: "wxp", VersionID: v.ID,
				Request: json.RawMessage(`{}`), SubmittedAt: at(2)}
			ok(t, tx.CreateAudit(a))
			audits[i] = a.ID
		}
		return nil
	})
	// What flips a plan: an integer that is 0 or 1 one time and not the
	// next. The fixtures' first ids are 1.
	if audits[0] != 1 || tpl != 1 || gen != 1 {
		t.Fatalf("fixtures: audit %d, template %d, generation %d; the test needs 1s", audits[0], tpl, gen)
	}
	reads := counted(t, s.reader, sqlite.AuthSelect)
	writes := counted(t, s.writer, sqlite.AuthInsert)

	read := func(i int) {
		ok(t, s.Read(ctx, func(tx miniship.Tx) error {
			_, _, err := tx.AuditWithGrant("wxp", "wxa", audits[i%2])
			return err
		}))
	}
	commit := func(i int) {
		c := miniship.CommitCheck{GrantsRev: rev, Generation: gen + int64(i%2)*6, TokenCreatedAt: at(5), TokenSeqBelow: 1}
		v := &miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", TemplateID: tpl, UserVersion: "2", ExtJSON: "{}", CreatedAt: at(9)}
		stored, err := s.CreateVersionIf(ctx, v, c)
		ok(t, err)
		equal(t, stored, i%2 == 0) // the other generation is not the grant's
	}
	// The first runs compile (unprepared, then prepared for the pool).
	for i := range 4 {
		read(i)
		commit(i)
	}
	r0, w0 := reads.Load(), writes.Load()
	for i := range 40 {
		read(i)
		commit(i)
	}
	if n := reads.Load() - r0; n != 0 {
		t.Errorf("get_auditstatus's read compiled %d more times in 40 reads", n)
	}
	if n := writes.Load() - w0; n != 0 {
		t.Errorf("the commit's insert compiled %d more times in 40 commits", n)
	}
}

// counted cuts db to one connection and counts the compilations of
// statements doing action on it.
func counted(t *testing.T, db *sql.DB, action sqlite.AuthorizerActionCode) *atomic.Int64 {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	n := new(atomic.Int64)
	conn, err := db.Conn(context.Background())
	ok(t, err)
	defer conn.Close()
	ok(t, conn.Raw(func(dc any) error {
		return dc.(sqlite.AuthorizerRegisterer).RegisterAuthorizer(func(a sqlite.AuthorizerActionCode, _, _, _, _ string) sqlite.AuthorizerReturnCode {
			if a == action {
				n.Add(1)
			}
			return sqlite.AuthorizerOK
		})
	}))
	return n
}
