package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The read cache's protocol (readcache.go), between every server that
// shares a PostgreSQL database:
//
//   - Triggers (migration 00130) notify every change of a grant, of a mini
//     program's categories and of an audit on the schema's channel. Each
//     server LISTENs on its own connection and drops what is named.
//   - Each server is a row of cache_peers: the last barrier it has seen
//     (acked) and its lease. It renews the lease only after its own ping
//     came back through the listener, so a live lease means a live
//     listener; it serves entries only until its lease's end (by its own
//     monotonic clock, from before the ping, so never past the end
//     PostgreSQL records).
//   - A write that changed a cached row (tx.stale) notifies a barrier
//     after its commit and returns once every peer whose lease runs has
//     acked that barrier. Notifications arrive in commit order, so a peer
//     that saw the barrier has dropped what the write changed. A peer that
//     died is waited for until its lease ends (cacheLease at most).
//
// So a revoke, a new token or a decided audit committed on any server is
// seen by every request that any server receives after the write returned,
// as when every read went to the database.

// cacheLease is how long a peer's lease runs from its last renewal; it
// renews four times a lease. A writer waits at most this long for a peer
// that died without leaving.
const cacheLease = 5 * time.Second

// channelSQL is the channel of the connection's schema, as the triggers
// name it for theirs: schemas sharing a database do not hear each other.
const channelSQL = `'miniship_cache_' || left(md5(current_schema()), 16)`

// barrierSQL notifies a barrier and returns its number, and whether a
// live peer other than $1 (this server's) has yet to see it. Its commit
// need not reach the disk (a barrier lost in a crash is lost with every
// listener), and a synchronous one would hold the database's lock on the
// notification queue while it did.
const barrierSQL = `SELECT b.n, EXISTS (SELECT 1 FROM cache_peers
		WHERE acked < b.n AND id <> $1 AND lease_until > now())
	FROM (SELECT txid_current() AS n, set_config('synchronous_commit', 'off', true)) b,
	LATERAL (SELECT pg_notify(` + channelSQL + `, 'b ' || b.n)) x`

// staleWrite matches the statements that may change what the cache keeps;
// a transaction that ran one waits for the barrier. A new audit or mini
// program changes nothing kept (only rows found are kept); a grant's
// INSERT may be an upsert.
var staleWrite = regexp.MustCompile(`(?is)\b(?:(?:UPDATE|DELETE\s+FROM|MERGE\s+INTO)(?:\s+ONLY)?\s+(?:"?\w+"?\.)?"?(?:authorizations|authorizers|audits)|INSERT\s+INTO\s+(?:"?\w+"?\.)?"?authorizations)\b`)

// staleWrites memoizes staleWrite by query text (the queries are constants).
var staleWrites sync.Map

func writesCached(q string) bool {
	if v, ok := staleWrites.Load(q); ok {
		return v.(bool)
	}
	m := staleWrite.MatchString(q)
	staleWrites.Store(q, m)
	return m
}

// peer is this server's part in the protocol: started by the first read
// that may use the cache, stopped by Close.
type peer struct {
	db    *sql.DB
	dsn   string
	cache *readCache
	lease time.Duration
	off   atomic.Bool // no cache: every read goes to the database (WithoutReadCache; tests)

	listenPID, ackPID atomic.Uint32 // the session's backends, for tests

	// What this server's writers wait on for their own cache (barrier):
	// the session's row (0: none, the cache is off) and the newest
	// barrier its listener has passed; moved closes when either changes.
	mu    sync.Mutex
	id    int64
	seen  int64
	moved chan struct{}

	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newPeer(db *sql.DB, dsn string) *peer {
	ctx, cancel := context.WithCancel(context.Background())
	return &peer{db: db, dsn: dsn, cache: newReadCache(), lease: cacheLease,
		ctx: ctx, cancel: cancel, done: make(chan struct{}), moved: make(chan struct{})}
}

// ensure starts the peer once.
func (p *peer) ensure() {
	if !p.off.Load() {
		p.once.Do(func() { go p.run() })
	}
}

// close stops the peer and leaves cache_peers; it may run more than once.
func (p *peer) close() {
	p.once.Do(func() { close(p.done) }) // never started: nor will it be
	p.cancel()
	<-p.done
}

// run keeps a session up until close; the cache is off between sessions.
func (p *peer) run() {
	defer close(p.done)
	wait := 50 * time.Millisecond
	for {
		err := p.session()
		p.cache.stop()
		if p.ctx.Err() != nil {
			return
		}
		slog.Warn("sqlstore: read cache off until its listener is back", "err", err)
		select {
		case <-p.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// session is one listener connection's life: register, serve, leave.
func (p *peer) session() error {
	ctx := p.ctx
	lc, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return err
	}
	defer lc.Close(context.Background())
	ac, err := pgx.Connect(ctx, p.dsn) // acks and renewals, beside the listener
	if err != nil {
		return err
	}
	defer ac.Close(context.Background())
	// An ack or a renewal lost in a crash of PostgreSQL only makes writers
	// wait for the lease, and the crash ends the listener anyway.
	// Every statement on ac is bounded, so a stuck one ends the session
	// (and the cache) rather than hold writers' barriers.
	exec := func(q string, args ...any) (pgconn.CommandTag, error) {
		sctx, cancel := context.WithTimeout(ctx, p.lease/4)
		defer cancel()
		return ac.Exec(sctx, q, args...)
	}
	if _, err := exec("SET synchronous_commit = off"); err != nil {
		return err
	}
	var channel string
	if err := lc.QueryRow(ctx, "SELECT "+channelSQL).Scan(&channel); err != nil {
		return err
	}
	if _, err := lc.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	p.listenPID.Store(lc.PgConn().PID())
	p.ackPID.Store(ac.PgConn().PID())
	// A listener that hears nothing (behind a pooler in transaction mode,
	// say) must not register, or writers would wait for it: hear a first
	// ping (from peer 0, which no peer is) before. What else comes now
	// was committed before the registration below, which later reads see.
	hello := "p 0 " + strconv.FormatUint(rand.Uint64(), 10)
	if _, err := exec("SELECT pg_notify($1, $2)", channel, hello); err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, p.lease/4)
	for {
		n, err := lc.WaitForNotification(hctx)
		if err != nil {
			cancel()
			return fmt.Errorf("sqlstore: the cache listener heard nothing: %w", err)
		}
		if n.Payload == hello {
			break
		}
	}
	cancel()
	// Every change from here on reaches lc. Barriers numbered below this
	// registration's transaction were drawn after their writes committed,
	// so the reads this cache fills (all begun after start) see those
	// writes; those numbered above it will reach lc.
	// Rows of servers that died without leaving are kept a while (a writer
	// passes over them once their lease ended), then swept by the next
	// server that starts.
	if _, err := exec("DELETE FROM cache_peers WHERE lease_until < now() - interval '1 hour'"); err != nil {
		return err
	}
	t0 := p.cache.now()
	var id int64
	rctx, cancel := context.WithTimeout(ctx, p.lease/4)
	err = ac.QueryRow(rctx, `INSERT INTO cache_peers (id, acked, lease_until)
		VALUES (txid_current(), txid_current(), now() + $1 * interval '1 microsecond') RETURNING id`,
		p.lease.Microseconds()).Scan(&id)
	cancel()
	if err != nil {
		return err
	}
	acked := id
	p.note(id, id)
	defer p.note(0, 0)
	defer func() {
		p.cache.stop() // before the row goes: writers stop waiting for this server then
		leave, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// On the pool: ac may be what failed.
		_, _ = p.db.ExecContext(leave, "DELETE FROM cache_peers WHERE id = $1", id)
	}()
	p.cache.start(t0 + p.local())

	var pong atomic.Int64
	wake, pongs := make(chan struct{}, 1), make(chan struct{}, 1)
	listenErr := make(chan error, 1)
	lctx, stopListen := context.WithCancel(ctx)
	listening := make(chan struct{})
	defer func() { stopListen(); <-listening }() // before lc closes
	me := strconv.FormatInt(id, 10) + " "
	go func() {
		defer close(listening)
		for {
			n, err := lc.WaitForNotification(lctx)
			if err != nil {
				listenErr <- err
				return
			}
			switch kind, rest, _ := strings.Cut(n.Payload, " "); kind {
			case "b":
				if b, err := strconv.ParseInt(rest, 10, 64); err == nil && b > p.passedUpTo() {
					p.note(id, b)
					signal(wake)
				}
			case "p":
				if v, ok := strings.CutPrefix(rest, me); ok {
					if k, err := strconv.ParseInt(v, 10, 64); err == nil {
						pong.Store(k)
						signal(pongs)
					}
				}
			default:
				p.cache.invalidate(n.Payload)
			}
		}
	}()

	renew := time.NewTicker(p.lease / 4)
	defer renew.Stop()
	var ping int64
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-listenErr:
			return err
		case <-wake:
			if s := p.passedUpTo(); s > acked {
				if _, err := exec("UPDATE cache_peers SET acked = $1 WHERE id = $2", s, id); err != nil {
					return err
				}
				acked = s
			}
		case <-renew.C:
			ping++
			t0 := p.cache.now()
			if _, err := exec("SELECT pg_notify($1, $2)", channel, "p "+me+strconv.FormatInt(ping, 10)); err != nil {
				return err
			}
			if err := waitPong(ctx, pongs, &pong, ping, p.lease/4, listenErr); err != nil {
				return err
			}
			tag, err := exec(`UPDATE cache_peers SET lease_until = now() + $1 * interval '1 microsecond'
				WHERE id = $2`, p.lease.Microseconds(), id)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return errors.New("sqlstore: this server's cache_peers row is gone")
			}
			p.cache.extend(t0 + p.local())
		}
	}
}

// note records the session's row and the barrier its listener passed.
func (p *peer) note(id, seen int64) {
	p.mu.Lock()
	p.id, p.seen = id, seen
	close(p.moved)
	p.moved = make(chan struct{})
	p.mu.Unlock()
}

// local is how long after its ping a renewal lets this server serve:
// the lease less a fifth, for PostgreSQL's clock, which writers judge the
// lease by, running ahead of this server's (up to a second for 5 s).
func (p *peer) local() int64 { return int64(p.lease - p.lease/5) }

// passedUpTo is the newest barrier the session's listener has passed.
func (p *peer) passedUpTo() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen
}

// current is the session's row, 0 when there is none.
func (p *peer) current() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id
}

// passed waits until this server's cache has dropped what came before
// barrier b, or is off; it returns the session's row, which the caller
// need not wait for in cache_peers.
func (p *peer) passed(ctx context.Context, b int64) (int64, error) {
	for {
		p.mu.Lock()
		id, seen, moved := p.id, p.seen, p.moved
		p.mu.Unlock()
		if id == 0 || seen >= b {
			// No session: the cache is off, and the next one registers
			// after b, so its reads see the write.
			return id, nil
		}
		left := time.Duration(p.cache.until.Load() - p.cache.now())
		if left <= 0 {
			// The lease lapsed: the cache serves nothing until a renewal,
			// which empties it first (readCache.extend).
			return id, nil
		}
		lapse := time.NewTimer(left)
		select {
		case <-ctx.Done():
			lapse.Stop()
			return id, ctx.Err()
		case <-moved:
		case <-lapse.C:
		}
		lapse.Stop()
	}
}

// waitPong waits until the listener has heard ping number n.
func waitPong(ctx context.Context, pongs <-chan struct{}, pong *atomic.Int64, n int64, limit time.Duration, listenErr chan error) error {
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for pong.Load() < n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-listenErr:
			listenErr <- err // for the session's loop
			return err
		case <-timeout.C:
			return fmt.Errorf("sqlstore: the cache listener did not hear its ping within %v", limit)
		case <-pongs:
		}
	}
	return nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// barrier returns once every live peer has seen a barrier drawn now, after
// the caller's commit: what that commit changed is gone from every cache.
func (s *Store) barrier(ctx context.Context) error {
	// The write has committed: see it through even if the caller has
	// gone, or the caches would learn of it only later. Every wait below
	// ends within a lease.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*cacheLease)
	defer cancel()
	failed := func(err error) error {
		return fmt.Errorf("sqlstore: committed, but the cache barrier failed: %w", err)
	}
	// This server's own listener is asked in memory, the others in
	// cache_peers.
	var me int64
	if s.peer != nil {
		me = s.peer.current()
	}
	var b int64
	var others bool
	if err := s.writer.QueryRowContext(ctx, barrierSQL, me).Scan(&b, &others); err != nil {
		return failed(err)
	}
	if s.peer != nil {
		now, err := s.peer.passed(ctx, b)
		if err != nil {
			return failed(err)
		}
		if now != me { // a new session: ask again, leaving out its row
			me, others = now, true
		}
	}
	for wait := 100 * time.Microsecond; others; wait = min(2*wait, 5*time.Millisecond) {
		if err := s.writer.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM cache_peers
			WHERE acked < $1 AND id <> $2 AND lease_until > now())`, b, me).Scan(&others); err != nil {
			return failed(err)
		}
		if !others {
			break
		}
		select {
		case <-ctx.Done():
			return failed(ctx.Err())
		case <-time.After(wait):
		}
	}
	return nil
}
