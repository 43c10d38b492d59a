package sqlstore

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// cachePair opens two servers' stores on one schema, seeded with a
// platform, a mini program with a grant and an audit, and waits until
// reader's cache is on. It returns the audit's id.
func cachePair(t *testing.T) (writer, reader *Store, auditID int64) {
	t.Helper()
	dsn := postgresSchema(t)
	open := func() *Store {
		s, err := OpenPostgres(t.Context(), dsn)
		ok(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	writer, reader = open(), open()
	update(t, writer, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa", Categories: cats(0)}))
		ok(t, tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa",
			PermissionSets: []int{18}, CreatedAt: at(1), UpdatedAt: at(1)}))
		v := &miniship.Version{AuthorizerAppID: "wxa", UserVersion: "1"}
		ok(t, tx.CreateVersion(v))
		a := &miniship.Audit{AuthorizerAppID: "wxa", PlatformAppID: "wxp", VersionID: v.ID, Status: miniship.AuditPending, SubmittedAt: at(2)}
		ok(t, tx.CreateAudit(a))
		auditID = a.ID
		return nil
	})
	readCategories(t, reader) // starts the peer
	waitCacheOn(t, reader)
	return writer, reader, auditID
}

func cats(n int) []miniship.Category {
	return []miniship.Category{{FirstClass: "工具", SecondClass: fmt.Sprint(n), FirstID: 1, SecondID: int64(n)}}
}

// waitCacheOn waits (up to 20 s) until s's cache serves.
func waitCacheOn(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !s.peer.cache.live(); {
		if time.Now().After(deadline) {
			t.Fatal("the read cache did not come on")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readCategories(t *testing.T, s *Store) (c []miniship.Category, g *miniship.Authorization) {
	t.Helper()
	ok(t, s.Read(t.Context(), func(tx miniship.Tx) (err error) {
		c, g, err = tx.CategoriesWithGrant("wxp", "wxa")
		return err
	}))
	return c, g
}

func readAudit(t *testing.T, s *Store, id int64) (a *miniship.Audit, g *miniship.Authorization) {
	t.Helper()
	ok(t, s.Read(t.Context(), func(tx miniship.Tx) (err error) {
		a, g, err = tx.AuditWithGrant("wxp", "wxa", id)
		return err
	}))
	return a, g
}

// cached reports whether reader's cache holds the pair's categories and
// the audit: the test below must see hits, or it proves nothing.
func cached(s *Store, id int64) bool {
	_, _, c := s.peer.cache.categories("wxp", "wxa")
	_, _, a := s.peer.cache.audit("wxp", "wxa", id)
	return c && a
}

// TestPostgresReadCacheExact: a change written through one server is what
// the next read on another answers, though that one had it cached, for
// every change the cache keeps: categories, an audit's decision, a new
// token (the grant's count), a revoke and a new grant.
func TestPostgresReadCacheExact(t *testing.T) {
	w, r, id := cachePair(t)
	hits := 0
	for i := 1; i <= 30; i++ {
		readCategories(t, r)
		readAudit(t, r, id)
		if cached(r, id) {
			hits++
		}
		switch i % 5 {
		case 0:
			setCategories(t, w, i)
			c, _ := readCategories(t, r)
			equal(t, c, cats(i))
		case 1:
			update(t, w, func(tx miniship.Tx) error {
				a, err := tx.GetAudit(id)
				ok(t, err)
				a.Status, a.Reason = miniship.AuditRejected, fmt.Sprint("no ", i)
				return tx.UpdateAudit(a)
			})
			a, _ := readAudit(t, r, id)
			equal(t, [2]any{a.Status, a.Reason}, [2]any{miniship.AuditRejected, fmt.Sprint("no ", i)})
		case 2:
			var seq int64
			update(t, w, func(tx miniship.Tx) error {
				g, err := tx.GetAuthorization("wxp", "wxa")
				ok(t, err)
				k := &miniship.Token{Value: fmt.Sprint("tok", i), Kind: miniship.AuthorizerToken, PlatformAppID: "wxp",
					AuthorizerAppID: "wxa", ExpiresAt: at(100), CreatedAt: at(3), Generation: g.Generation}
				ok(t, tx.IssueToken(k, 10))
				seq = k.Seq
				return nil
			})
			_, g := readCategories(t, r)
			equal(t, g.TokenSeq, seq)
		case 3:
			update(t, w, func(tx miniship.Tx) error { return tx.DeleteAuthorization("wxp", "wxa") })
			_, g := readCategories(t, r)
			equal(t, g, (*miniship.Authorization)(nil))
			_, g = readAudit(t, r, id)
			equal(t, g, (*miniship.Authorization)(nil))
		case 4:
			var gen int64
			update(t, w, func(tx miniship.Tx) error {
				g := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa",
					PermissionSets: []int{18, i}, CreatedAt: at(4), UpdatedAt: at(4)}
				ok(t, tx.PutAuthorization(g))
				gen = g.Generation
				return nil
			})
			_, g := readAudit(t, r, id)
			equal(t, [2]any{g.Generation, g.PermissionSets}, [2]any{gen, []int{18, i}})
		}
	}
	// The reads after a revoke find no grant and so keep nothing; a lease
	// that lapsed on a slow machine keeps nothing either, so any hit will
	// do to show that what was checked came through the cache.
	if hits == 0 {
		t.Error("the reader's cache never held the rows: it is not caching")
	}
}

// TestPostgresReadCacheDeadPeer: a write waits for a peer that holds a
// lease but does not answer, until the lease ends, and no longer.
func TestPostgresReadCacheDeadPeer(t *testing.T) {
	w, r, _ := cachePair(t)
	var until time.Time
	ok(t, w.writer.QueryRowContext(t.Context(), `INSERT INTO cache_peers (id, acked, lease_until)
		VALUES (1, 0, now() + interval '1 second') RETURNING lease_until`).Scan(&until))
	setCategories(t, w, 7)
	var passed bool
	ok(t, w.writer.QueryRowContext(t.Context(), "SELECT now() >= $1", until).Scan(&passed))
	if !passed {
		t.Error("the write returned before the silent peer's lease ended")
	}
	c, _ := readCategories(t, r)
	equal(t, c, cats(7))
}

// TestPostgresReadCacheListenerLost: a server whose listener dies stops
// serving its cache before writers stop waiting for it, and comes back.
func TestPostgresReadCacheListenerLost(t *testing.T) {
	w, r, _ := cachePair(t)
	for round := 1; round <= 3; round++ {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			readCategories(t, r)
			if _, _, hit := r.peer.cache.categories("wxp", "wxa"); hit {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: not cached", round)
			}
		}
		pid := r.peer.listenPID.Load()
		var killed bool
		ok(t, w.writer.QueryRowContext(t.Context(), "SELECT pg_terminate_backend($1)", int(pid)).Scan(&killed))
		if !killed {
			t.Fatalf("round %d: the listener %d was not there to end", round, pid)
		}
		setCategories(t, w, 100+round)
		c, _ := readCategories(t, r)
		equal(t, c, cats(100+round))
		waitCacheOn(t, r) // a new listener, a new lease
		if r.peer.listenPID.Load() == pid {
			t.Fatalf("round %d: still the old listener", round)
		}
	}
}

// TestPostgresReadCacheLeaves: a closed store leaves cache_peers, so
// writers stop waiting for it at once.
func TestPostgresReadCacheLeaves(t *testing.T) {
	w, r, _ := cachePair(t)
	count := func() (n int) {
		ok(t, w.writer.QueryRowContext(t.Context(), "SELECT count(*) FROM cache_peers").Scan(&n))
		return n
	}
	equal(t, count(), 1) // the reader; the writer never read
	ok(t, r.Close())
	equal(t, count(), 0)
	for _, s := range []*Store{r, w} { // started or not, Close may run twice
		s.peer.close()
	}
}

// TestPostgresBarrierNotifies: the barrier statement both numbers and
// notifies (the lateral pg_notify is not planned away).
func TestPostgresBarrierNotifies(t *testing.T) {
	w, _, _ := cachePair(t)
	var before, after int64
	ok(t, w.writer.QueryRowContext(t.Context(), "SELECT acked FROM cache_peers").Scan(&before))
	ok(t, w.barrier(t.Context()))
	ok(t, w.writer.QueryRowContext(t.Context(), "SELECT acked FROM cache_peers").Scan(&after))
	if after <= before {
		t.Errorf("the reader acked %d, then %d: the barrier was not heard", before, after)
	}
}

func TestWritesCached(t *testing.T) {
	for q, want := range map[string]bool{
		"UPDATE authorizers SET categories = ?":           true,
		"update\n\t\tauthorizations SET token_seq = 1":    true,
		"DELETE FROM audits WHERE id IN (SELECT 1)":       true,
		"INSERT INTO authorizations (platform_appid) ...": true,
		"INSERT INTO audits (authorizer_appid) ...":       false,
		"INSERT INTO authorizers (appid) ...":             false,
		"SELECT * FROM authorizations":                    false,
		"UPDATE authorizers_x SET a = 1":                  false,
		"DELETE FROM tokens WHERE 1":                      false,
		"UPDATE ONLY audits SET status = 1":               true,
		`DELETE FROM ONLY public."authorizations"`:        true,
		"MERGE INTO miniship.authorizers a USING":         true,
		`INSERT INTO "authorizations" VALUES (1)`:         true,
		"UPDATE grant_generations SET generation = 2":     false,
	} {
		if got := writesCached(q); got != want {
			t.Errorf("writesCached(%q) = %v, want %v", q, got, want)
		}
	}
}

// TestReadCacheFill: a read that raced an invalidation, or began before
// the cache (re)started, keeps nothing; one that did not is served after.
func TestReadCacheFill(t *testing.T) {
	c := newReadCache()
	g := &miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", Generation: 1}
	a := &miniship.Audit{ID: 7, AuthorizerAppID: "wxa", Status: miniship.AuditPending}
	hit := func() bool { _, _, ok := c.categories("wxp", "wxa"); return ok }

	gen, on := c.begin()
	c.fill(gen, g, true, cats(1), nil)
	if on || hit() {
		t.Fatal("an off cache kept a read")
	}
	c.start(c.now() + int64(time.Hour))
	c.fill(gen, g, true, cats(1), nil) // begun before the start
	if hit() {
		t.Fatal("a read begun before the start was kept")
	}
	for _, payload := range []string{"c wxa", "g wxp wxa", "a 99", "x"} {
		gen, _ = c.begin()
		c.invalidate(payload) // lands while the read runs
		c.fill(gen, g, true, cats(1), a)
		if hit() {
			t.Fatalf("a read that raced %q was kept", payload)
		}
	}
	gen, _ = c.begin()
	c.fill(gen, g, true, cats(1), a)
	got, gg, ok := c.categories("wxp", "wxa")
	if !ok {
		t.Fatal("a clean read was not kept")
	}
	equal(t, [2]any{got, gg}, [2]any{cats(1), g})
	if _, _, ok := c.audit("wxp", "wxb", 7); ok {
		t.Error("an audit was served to another mini program")
	}
	au, _, ok := c.audit("wxp", "wxa", 7)
	equal(t, [2]any{au, ok}, [2]any{a, true})
	for payload, gone := range map[string]func() bool{
		"a 7":       func() bool { _, _, ok := c.audit("wxp", "wxa", 7); return !ok },
		"c wxa":     func() bool { return !hit() },
		"g wxp wxa": func() bool { return !hit() },
		"what":      func() bool { return !hit() },
	} {
		gen, _ = c.begin()
		c.fill(gen, g, true, cats(1), a)
		c.invalidate(payload)
		if !gone() {
			t.Errorf("%q left its entry", payload)
		}
	}
	c.fill(gen, g, true, cats(1), a)
	c.until.Store(c.now()) // the lease ran out
	if hit() {
		t.Error("served past the lease")
	}
	// A lease that lapsed and is renewed later: writers may have stopped
	// waiting meanwhile, so nothing from before is served again, and no
	// read begun before is kept.
	gen, _ = c.begin()
	c.fill(gen, g, true, cats(1), a)
	gen, _ = c.begin()
	c.until.Store(c.now())
	c.extend(c.now() + int64(time.Hour))
	c.fill(gen, g, true, cats(1), a)
	if hit() {
		t.Error("a lapsed lease, renewed, served what it held before")
	}
	c.stop()
	_, on = c.begin()
	if on {
		t.Error("on after stop")
	}
}

// TestPostgresReadCacheConcurrent: while one server changes a mini
// program's categories and another reads them from several goroutines, no
// read begun after a change returned answers what came before it.
func TestPostgresReadCacheConcurrent(t *testing.T) {
	w, r, _ := cachePair(t)
	var done atomic.Bool
	var acked atomic.Int64 // the newest change whose write returned
	var hits atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !done.Load() {
				want := acked.Load()
				if _, _, hit := r.peer.cache.categories("wxp", "wxa"); hit {
					hits.Add(1)
				}
				c, _ := readCategories(t, r)
				if got := c[0].SecondID; got < want {
					t.Errorf("read categories %d after change %d had returned", got, want)
					return
				}
			}
		})
	}
	for i := 1; i <= 100; i++ {
		setCategories(t, w, i)
		acked.Store(int64(i))
		time.Sleep(time.Millisecond) // let the readers fill the cache again
	}
	done.Store(true)
	wg.Wait()
	if hits.Load() == 0 {
		t.Error("no read found the categories cached: the test proved nothing")
	}
}

// TestPostgresReadCacheOff: WithoutReadCache reads the database every
// time and holds no listener, and its writes still reach the caches of
// the servers that have one.
func TestPostgresReadCacheOff(t *testing.T) {
	w, r, _ := cachePair(t)
	dsn := w.peer.dsn
	off, err := OpenPostgres(t.Context(), dsn, WithoutReadCache())
	ok(t, err)
	t.Cleanup(func() { off.Close() })
	for range 3 {
		readCategories(t, off)
	}
	if _, _, hit := off.peer.cache.categories("wxp", "wxa"); hit || off.peer.cache.live() {
		t.Error("a store without the read cache cached")
	}
	var peers int
	ok(t, w.writer.QueryRowContext(t.Context(), "SELECT count(*) FROM cache_peers").Scan(&peers))
	equal(t, peers, 1) // the reader's alone
	readCategories(t, r)
	setCategories(t, off, 55)
	c, _ := readCategories(t, r)
	equal(t, c, cats(55))
}

// TestPostgresReadCacheSweeps: a server that starts sweeps the rows of
// servers that died long ago, and keeps the recent ones.
func TestPostgresReadCacheSweeps(t *testing.T) {
	s := openPostgresT(t)
	fixtures(t, s)
	_, err := s.writer.ExecContext(t.Context(), `INSERT INTO cache_peers (id, acked, lease_until)
		VALUES (1, 0, now() - interval '2 hours'), (2, 0, now() - interval '1 minute')`)
	ok(t, err)
	ok(t, s.Read(t.Context(), func(tx miniship.Tx) error {
		_, _, err := tx.CategoriesWithGrant("wxp", "wxa")
		return err
	}))
	waitCacheOn(t, s)
	var ids []int64
	rows, err := s.writer.QueryContext(t.Context(), "SELECT id FROM cache_peers WHERE id < 3 ORDER BY id")
	ok(t, err)
	for rows.Next() {
		var id int64
		ok(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	ok(t, rows.Err())
	equal(t, ids, []int64{2})
}

// TestPostgresReadCacheAckLost: when a server's acknowledging connection
// dies, its session ends and its row goes (through the pool), so writers
// stop waiting for it at once.
func TestPostgresReadCacheAckLost(t *testing.T) {
	w, r, _ := cachePair(t)
	id := r.peer.current()
	var killed bool
	ok(t, w.writer.QueryRowContext(t.Context(), "SELECT pg_terminate_backend($1)", int(r.peer.ackPID.Load())).Scan(&killed))
	equal(t, killed, true)
	for deadline := time.Now().Add(20 * time.Second); r.peer.current() == id; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session outlived its acknowledging connection")
		}
	}
	var left int
	ok(t, w.writer.QueryRowContext(t.Context(), "SELECT count(*) FROM cache_peers WHERE id = $1", id).Scan(&left))
	equal(t, left, 0)
	setCategories(t, w, 9)
	c, _ := readCategories(t, r)
	equal(t, c, cats(9))
}

// setCategories writes the mini program's categories through s.
func setCategories(t *testing.T, s *Store, n int) {
	t.Helper()
	update(t, s, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorizer("wxa")
		ok(t, err)
		a.Categories = cats(n)
		return tx.UpdateAuthorizer(a)
	})
}
