package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/miniship/miniship"
)

// recorder is a group of ints that records its batches.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
}

func (r *recorder) group(size func(int) int) *group[int] {
	return &group[int]{flight: 1, size: size, run: func(b []int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.batches = append(r.batches, slices.Clone(b))
	}}
}

// queue starts a do of each value, in order, and waits until each queues.
func queueAll(g *group[int], ctxs []context.Context, vals ...int) (done chan bool) {
	done = make(chan bool, len(vals))
	for i, v := range vals {
		go func() { ran, _ := g.do(ctxs[i], v); done <- ran }()
		waitQueue(g, i+1)
	}
	return done
}

func waitQueue(g *group[int], n int) {
	for {
		g.mu.Lock()
		q := len(g.queue)
		g.mu.Unlock()
		if q >= n {
			return
		}
	}
}

func background(n int) []context.Context {
	ctxs := make([]context.Context, n)
	for i := range ctxs {
		ctxs[i] = context.Background()
	}
	return ctxs
}

// TestGroup: a lone request runs at once; requests that come while a batch
// runs run as the next batch, in their order; one whose context ends while
// it queues leaves the queue; a batch holds at most maxBatchBytes (but
// always one request); the queue keeps nothing it handed on.
func TestGroup(t *testing.T) {
	var rec recorder
	g := rec.group(func(v int) int { return v })
	if ran, complete := g.do(context.Background(), 1); !ran || !complete {
		t.Fatal("a lone request did not run")
	}

	g.running = g.flight // a batch runs
	ctxs := background(5)
	gone, cancel := context.WithCancel(context.Background())
	ctxs[2] = gone
	done := queueAll(g, ctxs, 2, 3, 4, 5, maxBatchBytes)
	cancel()
	if <-done {
		t.Fatal("a request whose context ended while it queued ran")
	}
	waitQueue(g, 4)
	g.mu.Lock()
	equal(t, len(g.queue), 4)
	g.mu.Unlock()
	g.handOn() // the batch ends: 2, 3, 5 lead by 2, then maxBatchBytes alone
	for range 4 {
		if !<-done {
			t.Fatal("a queued request did not run")
		}
	}
	g.mu.Lock()
	equal(t, [2]any{g.running, g.queue == nil}, [2]any{0, true})
	g.mu.Unlock()
	equal(t, rec.batches, [][]int{{1}, {2, 3, 5}, {maxBatchBytes}})
	equal(t, g.batches.Load(), int64(1))
}

// TestGroupPanic: a batch whose run panics hands the place on and wakes
// its followers, and its leader's caller panics.
func TestGroupPanic(t *testing.T) {
	var mu sync.Mutex
	var ran []int
	started, gate := make(chan struct{}), make(chan struct{})
	g := &group[int]{flight: 1, run: func(b []int) {
		if b[0] == 1 {
			close(started)
			<-gate
			panic("run")
		}
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, b...)
	}}
	queued := make(chan chan bool)
	go func() {
		<-started
		d := queueAll(g, background(2), 2, 3)
		close(gate)
		queued <- d
	}()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the leader's caller did not panic")
			}
		}()
		g.do(context.Background(), 1)
	}()
	d := <-queued
	for range 2 {
		if !<-d {
			t.Fatal("a follower did not run")
		}
	}
	mu.Lock()
	equal(t, ran, []int{2, 3})
	mu.Unlock()
	g.mu.Lock()
	equal(t, g.running, 0)
	g.mu.Unlock()
}

// TestNothingStored: only a refusal the database reports as ERROR, or a
// statement never sent, lets the callers of a shared write run their own.
func TestNothingStored(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("wrapped: %w", errNotSent), true},
		{&pgconn.PgError{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "22021"}, true},
		{&pgconn.PgError{Severity: "FEHLER", SeverityUnlocalized: "ERROR"}, true},
		{&pgconn.PgError{Severity: "ERROR"}, true}, // an old server: no unlocalized severity
		{&pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL"}, false},
		{&pgconn.PgError{Severity: "PANIC", SeverityUnlocalized: "PANIC"}, false},
		{&pgconn.ConnectError{}, true},
		{io.ErrUnexpectedEOF, false},
		{context.DeadlineExceeded, false},
		{errors.New("sqlstore: combined commit returned row 9 of 2"), false},
	} {
		if got := nothingStored(tc.err); got != tc.want {
			t.Errorf("nothingStored(%#v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestPostgresNoSequenceUsage: a role that may insert into the tables but
// not draw from their sequences (which a plain INSERT of an identity
// column does not need) gets commits one statement each, which work,
// rather than shared statements that would all fail.
func TestPostgresNoSequenceUsage(t *testing.T) {
	dsn := postgresSchema(t)
	s, err := OpenPostgres(t.Context(), dsn) // migrates the schema as its owner
	if err != nil {
		t.Fatal(err)
	}
	if s.combine == nil {
		t.Fatal("the owner gets no shared commits")
	}
	var schema string
	ok(t, s.writer.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema))
	role := "ms_role_" + hex.EncodeToString(randomBytes(6))
	if _, err := s.writer.ExecContext(t.Context(), "CREATE ROLE "+role+" LOGIN"); err != nil {
		s.Close()
		t.Skipf("MINISHIP_TEST_POSTGRES's role cannot create roles (%v): skipping", err)
	}
	for _, q := range []string{
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
	} {
		_, err := s.writer.ExecContext(t.Context(), q)
		ok(t, err)
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := s.writer.ExecContext(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
		s.Close()
	})
	u, err := url.Parse(dsn)
	ok(t, err)
	u.User = url.User(role)
	rs, err := OpenPostgres(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if rs.combine != nil {
		t.Fatal("shared commits for a role without USAGE on the versions sequence")
	}
	fixtures(t, rs)
	var check miniship.CommitCheck
	var tplID int64
	update(t, rs, func(tx miniship.Tx) error {
		var gen, rev int64
		tplID, gen, rev = commitFixtures(t, tx)
		check = miniship.CommitCheck{GrantsRev: rev, Generation: gen, TokenCreatedAt: at(5), TokenSeqBelow: 1, Perm: 18}
		return nil
	})
	calls := make([]versionCall, 3)
	for i := range calls {
		calls[i] = versionCall{c: check, v: &miniship.Version{AuthorizerAppID: "wxa", PlatformAppID: "wxp", TemplateID: tplID,
			UserVersion: fmt.Sprint(i), ExtJSON: "{}", CreatedAt: at(9), ScanDoneAt: at(10)}}
	}
	together(t, rs, calls)
	for i, r := range calls {
		if ok(t, r.err); !r.ok {
			t.Errorf("call %d: not stored", i)
		}
	}
}

// TestGroupCancelStress: many callers, some cancelled at random moments
// (while queued, while handed a batch, while it runs): each request runs
// exactly once when do says so and never otherwise, and the group ends
// idle. A defect shows as a wrong count or a hang, never by timing.
func TestGroupCancelStress(t *testing.T) {
	for _, flight := range []int{1, 2} {
		var mu sync.Mutex
		runs := map[int]int{}
		g := &group[int]{flight: flight, run: func(b []int) {
			runtime.Gosched()
			mu.Lock()
			defer mu.Unlock()
			for _, v := range b {
				runs[v]++
			}
		}}
		const callers = 400
		ran := make([]bool, callers)
		var wg sync.WaitGroup
		for i := range callers {
			ctx, cancel := context.WithCancel(context.Background())
			if i%3 == 0 {
				wg.Go(func() {
					for range rand.N(20) {
						runtime.Gosched()
					}
					cancel()
				})
			}
			wg.Go(func() {
				defer cancel()
				ran[i], _ = g.do(ctx, i)
			})
		}
		wg.Wait()
		for i, r := range ran {
			if want := map[bool]int{true: 1, false: 0}[r]; runs[i] != want {
				t.Fatalf("flight %d: request %d ran %d times, do said %v", flight, i, runs[i], r)
			}
		}
		equal(t, [2]any{g.running, len(g.queue)}, [2]any{0, 0})
	}
}

// TestSharedContext: a shared statement's context outlives each of its
// callers but the last.
func TestSharedContext(t *testing.T) {
	ctxs := make([]context.Context, 3)
	cancels := make([]context.CancelFunc, 3)
	for i := range ctxs {
		ctxs[i], cancels[i] = context.WithCancel(context.Background())
	}
	ctx, stop := sharedContext(ctxs)
	defer stop()
	cancels[0]()
	cancels[2]()
	if ctx.Err() != nil {
		t.Fatal("cancelled while a caller is left")
	}
	cancels[1]()
	<-ctx.Done() // hangs if the last one going does not cancel it
	if _, ok := ctx.Deadline(); !ok {
		t.Error("no deadline")
	}
}

// TestPostgresSharedReadFallback: when a shared read fails, or panics, the
// callers it served read on their own and answer as they would have.
func TestPostgresSharedReadFallback(t *testing.T) {
	s := openPostgresT(t)
	s.peer.off.Store(true) // every read reaches the shared statement
	cats := []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 1, SecondID: 2}}
	update(t, s, func(tx miniship.Tx) error {
		ok(t, tx.CreatePlatform(&miniship.Platform{AppID: "wxp"}))
		ok(t, tx.CreateAuthorizer(&miniship.Authorizer{AppID: "wxa", Categories: cats}))
		return tx.PutAuthorization(&miniship.Authorization{PlatformAppID: "wxp", AuthorizerAppID: "wxa", PermissionSets: []int{18}, CreatedAt: at(3), UpdatedAt: at(3)})
	})
	closed, err := sql.Open("pgx", postgresDSN(t))
	ok(t, err)
	closed.Close()
	db := s.reads.db
	for name, broken := range map[string]*sql.DB{"failing": closed, "panicking": nil} {
		s.reads.db = broken
		apps := []string{"wxa", "nope", "wxa"}
		type answer struct {
			cats  []miniship.Category
			grant bool
			err   error
		}
		got := make([]answer, len(apps))
		panics := make([]any, len(apps))
		release, check := holdGroup(&s.reads.categories, len(apps))
		var wg sync.WaitGroup
		var ended atomic.Int32
		for i, app := range apps {
			wg.Go(func() {
				defer ended.Add(1)
				defer func() { panics[i] = recover() }()
				got[i].err = s.Read(t.Context(), func(tx miniship.Tx) (err error) {
					var g *miniship.Authorization
					got[i].cats, g, err = tx.CategoriesWithGrant("wxp", app)
					got[i].grant = g != nil
					return err
				})
			})
		}
		release(&ended)
		wg.Wait()
		if n := check(); n != 1 {
			t.Errorf("%s: %d shared reads, want 1", name, n)
		}
		wantPanics, npanics := map[string]int{"failing": 0, "panicking": 1}[name], 0
		for i, app := range apps {
			if panics[i] != nil { // the caller that led the batch
				npanics++
				continue
			}
			want := answer{cats, true, nil}
			if app == "nope" {
				want = answer{nil, false, miniship.ErrNotFound}
			}
			if !errors.Is(got[i].err, want.err) || got[i].grant != want.grant || !reflect.DeepEqual(got[i].cats, want.cats) {
				t.Errorf("%s, read %d of %s: %+v, want %+v", name, i, app, got[i], want)
			}
		}
		if npanics != wantPanics {
			t.Errorf("%s: %d callers panicked, want %d (%v)", name, npanics, wantPanics, panics)
		}
	}
	s.reads.db = db
}
