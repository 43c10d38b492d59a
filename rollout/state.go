package rollout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite"

	"github.com/miniship/miniship/wxa"
)

// State is the SQLite state file: one row per mini program, the tokens,
// and which rollout the file belongs to. One rollout at a time may use it
// (the connection holds SQLite's exclusive lock).
type State struct {
	db        *sql.DB
	path      string
	created   bool // by OpenState: see Discard
	worked    bool // a run reached its dispatch: the file may hold progress
	closed    bool
	run       int64
	freshStmt *sql.Stmt
	// tokens is the wxa TokenStore: tickets, component tokens and locks in
	// memory, authorizer tokens in the file so they survive a restart.
	tokens *tokenStore
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (
	appid      TEXT PRIMARY KEY,
	seq        INTEGER NOT NULL,
	run        INTEGER NOT NULL,
	vals       TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL DEFAULT 'pending', -- pending, failed, done
	done       INTEGER NOT NULL DEFAULT 0,      -- last completed Step
	fresh      INTEGER NOT NULL DEFAULT 1,      -- done = 0: not started
	inflight   INTEGER NOT NULL DEFAULT 0,      -- Step whose call may have taken effect unseen
	gray_pct   INTEGER NOT NULL DEFAULT 0,
	auditid    INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL DEFAULT 0,      -- unix ms: not before
	attempts   INTEGER NOT NULL DEFAULT 0,      -- failures of the current step, all runs
	tries      INTEGER NOT NULL DEFAULT 0,      -- failures of the current step, this run
	errcode    INTEGER NOT NULL DEFAULT 0,
	errkind    TEXT NOT NULL DEFAULT '',
	errmsg     TEXT NOT NULL DEFAULT '',
	updated_at INTEGER NOT NULL DEFAULT 0,
	wait_kind  INTEGER NOT NULL DEFAULT 0,      -- Wait: what the app waits for at next_at
	wait_since INTEGER NOT NULL DEFAULT 0       -- unix ms: when that wait began
);
CREATE INDEX IF NOT EXISTS apps_due ON apps (run, status, fresh, next_at, seq);
CREATE TABLE IF NOT EXISTS tokens (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0,
	seed       TEXT NOT NULL DEFAULT ''
);`

// OpenState opens (creating, mode 0600: it holds refresh tokens) a state file.
func OpenState(path string) (*State, error) {
	if strings.ContainsRune(path, '?') {
		// The driver takes what follows ? as its parameters.
		return nil, fmt.Errorf("state path %q: must not contain '?'", path)
	}
	// O_EXCL first, to know whether the file is this run's own.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	created := err == nil
	if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, err
	}
	f.Close()
	// WAL with synchronous=NORMAL survives a killed process, which is the
	// crash that matters; EXCLUSIVE keeps a second rollout out.
	q := url.Values{"_pragma": {"journal_mode(WAL)", "synchronous(NORMAL)", "locking_mode(EXCLUSIVE)"}}
	// A plain path, not a file: URI, where '#' would start a fragment.
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // the exclusive lock belongs to one connection
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			return nil, fmt.Errorf("state %s is in use by another rollout", path)
		}
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if err := addWaitColumns(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	s := &State{db: db, path: path, created: created}
	s.tokens = &tokenStore{MemoryStore: wxa.NewMemoryStore(), db: db, cache: newTokenCache(4096)}
	if err := s.tokens.prepare(); err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return s, nil
}

// addWaitColumns brings a state file written before waits were recorded
// up to the current schema.
func addWaitColumns(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('apps') WHERE name='wait_kind'`).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := db.Exec(`ALTER TABLE apps ADD COLUMN wait_kind INTEGER NOT NULL DEFAULT 0;
		ALTER TABLE apps ADD COLUMN wait_since INTEGER NOT NULL DEFAULT 0`)
	return err
}

// Close closes the file; once closed, it does nothing.
func (s *State) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.freshStmt != nil {
		s.freshStmt.Close()
	}
	s.tokens.close()
	return s.db.Close()
}

// Discard closes the file and removes it (with its -wal and -shm files)
// if OpenState created it: for a run that ended before it worked on any
// app (Run returned no report), whose new file holds nothing to resume and
// would otherwise be left behind empty. A file that was there before is
// kept: a resumed run's progress is in it. So is a file whose run began
// working on apps, even if it then failed to report: it records what was
// committed and submitted, which a new run must not do again.
func (s *State) Discard() error {
	err := s.Close()
	if !s.created || s.worked {
		return err
	}
	for _, f := range []string{s.path, s.path + "-wal", s.path + "-shm"} {
		if rerr := os.Remove(f); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// TokenStore is the store the rollout's wxa client uses.
func (s *State) TokenStore() wxa.TokenStore { return s.tokens }

// begin binds the file to the plan's rollout and starts a new run.
func (s *State) begin(ctx context.Context, p *Plan, reset bool) error {
	id := fmt.Sprintf("template %d, user_version %q", p.Template.ID, p.UserVersion)
	var have string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='rollout'`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case have != id && !reset:
		return fmt.Errorf("the state file belongs to the rollout of %s, not %s: use another --state, or --reset to forget it", have, id)
	}
	if reset {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM apps`); err != nil {
			return err
		}
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO meta VALUES ('rollout', ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value`, id)
	if err != nil {
		return err
	}
	return s.db.QueryRowContext(ctx, `INSERT INTO meta VALUES ('run', '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)`).Scan(&s.run)
}

// importTargets streams the plan's targets into the file for this run and
// seeds the refresh tokens they carry. Apps from earlier runs that are no
// longer targets stay in the file but out of the run.
func (s *State) importTargets(ctx context.Context, p *Plan, client *wxa.Client, extra func(func(Target) error) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	up, err := tx.PrepareContext(ctx, `INSERT INTO apps (appid, seq, run, vals) VALUES (?, ?, ?, ?)
		ON CONFLICT (appid) DO UPDATE SET seq=excluded.seq, run=excluded.run, vals=excluded.vals WHERE apps.run <> excluded.run`)
	if err != nil {
		return err
	}
	s.tokens.seed = tx
	defer func() { s.tokens.seed = nil }()
	n := 0
	err = p.EachTarget(func(t Target) error {
		if t.AppID == "" {
			return fmt.Errorf("target %d has no appid", n+1)
		}
		vals := ""
		if len(t.Values) > 0 {
			b, err := marshalNoHTML(t.Values)
			if err != nil {
				return fmt.Errorf("%s: values: %w", t.AppID, err)
			}
			vals = string(b)
		}
		n++
		res, err := up.ExecContext(ctx, t.AppID, n, s.run, vals)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("appid %s is listed twice", t.AppID)
		}
		if t.RefreshToken != "" {
			return client.SetRefreshToken(ctx, t.AppID, t.RefreshToken)
		}
		return nil
	})
	if err == nil && extra != nil {
		err = extra(func(t Target) error {
			if t.AppID == "" || t.RefreshToken == "" {
				return fmt.Errorf("refresh tokens: a row lacks appid or refresh_token")
			}
			return client.SetRefreshToken(ctx, t.AppID, t.RefreshToken)
		})
	}
	if err != nil {
		return err
	}
	// Failed apps get another chance; apps done under a plan with fewer
	// steps go on; apps past a shortened plan are done.
	last := p.Last()
	for _, q := range []string{
		// A commit that may be under way keeps its wait (recomputed from
		// the plan when the run loads it).
		`UPDATE apps SET status='pending', tries=0, next_at=CASE WHEN wait_kind=` + itoa(int(WaitCommit)) + ` THEN next_at ELSE 0 END,
			wait_kind=CASE WHEN wait_kind=` + itoa(int(WaitCommit)) + ` THEN wait_kind ELSE 0 END WHERE run=?1 AND status='failed'`,
		`UPDATE apps SET status='pending', tries=0 WHERE run=?1 AND status='done' AND done < ?2`,
		`UPDATE apps SET status='done' WHERE run=?1 AND status='pending' AND done >= ?2`,
		`UPDATE apps SET tries=0 WHERE run=?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, s.run, int(last)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// app is one pending row of the run, in the schedule or with a worker.
type app struct {
	ID       string
	Seq      int64
	Done     Step
	Inflight Step
	GrayPct  int
	AuditID  int64
	Attempts int
	Tries    int
	Status   string
	NextAt   time.Time
	// Wait is what the app waits for at NextAt, since WaitSince.
	Wait      Wait
	WaitSince time.Time
	Err       *Failure
	// dirty: a step done is not in the file yet (see process).
	dirty bool
	// misses counts the polls of the current wait answered "not yet".
	misses int
}

const appColumns = `appid, seq, done, inflight, gray_pct, auditid, attempts, tries, next_at, wait_kind, wait_since`

func scanApp(rows *sql.Rows) (*app, error) {
	a := &app{Status: "pending"}
	var next, since int64
	err := rows.Scan(&a.ID, &a.Seq, &a.Done, &a.Inflight, &a.GrayPct, &a.AuditID, &a.Attempts, &a.Tries, &next, &a.Wait, &since)
	a.NextAt, a.WaitSince = fromMS(next), fromMS(since)
	return a, err
}

// startedApps streams the run's pending apps that are under way (or wait
// to retry): the schedule holds these from the start.
func (s *State) startedApps(ctx context.Context, fn func(*app)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+appColumns+` FROM apps
		WHERE run=? AND status='pending' AND (fresh=0 OR next_at<>0)`, s.run)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return err
		}
		fn(a)
	}
	return rows.Err()
}

// freshApps reads up to limit not yet started apps after seq, in target
// order (an index range of apps_due).
func (s *State) freshApps(ctx context.Context, after int64, limit int) ([]*app, error) {
	if s.freshStmt == nil {
		var err error
		if s.freshStmt, err = s.db.PrepareContext(ctx, `SELECT `+appColumns+` FROM apps
			WHERE run=? AND status='pending' AND fresh=1 AND next_at=0 AND seq>? ORDER BY seq LIMIT ?`); err != nil {
			return nil, err
		}
	}
	rows, err := s.freshStmt.QueryContext(ctx, s.run, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]*app, 0, limit)
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// vals reads an app's ext values, needed only to render its commit.
func (s *State) vals(ctx context.Context, appid string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT vals FROM apps WHERE appid=?`, appid).Scan(&v)
	return v, err
}

// StepCount is how far the run's apps got with one step: done, failed at
// it (by errcode), and pending (neither, nor failed at an earlier step).
type StepCount struct {
	Step    string         `json:"step"`
	Done    int            `json:"done"`
	Failed  map[string]int `json:"failed"` // by errcode (or kind for local failures)
	Pending int            `json:"pending"`
}

// Failure is why an app stopped.
type Failure struct {
	AppID    string `json:"appid"`
	Step     string `json:"step"`
	Code     int    `json:"errcode"`
	Kind     string `json:"kind"` // the errcode as text, or rejected, ext_json, network…
	Msg      string `json:"errmsg"`
	Attempts int    `json:"attempts"`
	AuditID  int64  `json:"auditid,omitempty"`
}

// counts tallies the run per step.
func (s *State) counts(ctx context.Context, steps []Step) (total int, out []StepCount, err error) {
	if err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM apps WHERE run=?`, s.run).Scan(&total); err != nil {
		return
	}
	for _, st := range steps {
		c := StepCount{Step: st.String(), Failed: map[string]int{}}
		if err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM apps WHERE run=? AND done>=?`, s.run, int(st)).Scan(&c.Done); err != nil {
			return
		}
		out = append(out, c)
	}
	// A failed app failed at the first plan step after its last done one.
	rows, err := s.db.QueryContext(ctx, `SELECT done, errkind, count(*) FROM apps WHERE run=? AND status='failed' GROUP BY done, errkind`, s.run)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var done, n int
		var kind string
		if err = rows.Scan(&done, &kind, &n); err != nil {
			return
		}
		for i, st := range steps {
			if st > Step(done) {
				out[i].Failed[kind] += n
				break
			}
		}
	}
	if err = rows.Err(); err != nil {
		return
	}
	// Pending is what this run may still do at the step: apps that failed
	// at it or before it are not pending.
	stopped := 0
	for i := range out {
		for _, n := range out[i].Failed {
			stopped += n
		}
		out[i].Pending = total - out[i].Done - stopped
	}
	return
}

// failures lists the run's failed apps in target order.
func (s *State) failures(ctx context.Context, p *Plan, fn func(Failure) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT appid, done, errcode, errkind, errmsg, attempts, auditid
		FROM apps WHERE run=? AND status='failed' ORDER BY seq`, s.run)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f Failure
		var done Step
		if err := rows.Scan(&f.AppID, &done, &f.Code, &f.Kind, &f.Msg, &f.Attempts, &f.AuditID); err != nil {
			return err
		}
		st, _ := p.next(done)
		f.Step = st.String()
		if err := fn(f); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AppState is the recorded state of one mini program, for tests and tools.
type AppState struct {
	AppID    string
	Status   string
	Done     Step
	Inflight Step
	AuditID  int64
	Attempts int
	ErrCode  int
	ErrMsg   string
}

// App reads one mini program's row.
func (s *State) App(ctx context.Context, appid string) (*AppState, error) {
	a := &AppState{AppID: appid}
	err := s.db.QueryRowContext(ctx, `SELECT status, done, inflight, auditid, attempts, errcode, errmsg FROM apps WHERE appid=?`, appid).
		Scan(&a.Status, &a.Done, &a.Inflight, &a.AuditID, &a.Attempts, &a.ErrCode, &a.ErrMsg)
	return a, err
}

// tokenStore keeps authorizer tokens in the state file, not in a map that
// grows with the fleet, and keeps a refresh token WeChat rotated across
// runs: seeding from the plan overwrites only when the plan's value changed.
type tokenStore struct {
	*wxa.MemoryStore // tickets, component tokens, locks
	db               *sql.DB
	seed             *sql.Tx // set while importing targets
	// get and set are prepared once, and the tokens last used are cached:
	// every API call reads its token.
	get, set *sql.Stmt
	cache    *tokenCache
	// group, while a run's writer runs, takes the writes: they join its
	// group commits instead of each being a transaction of its own.
	group atomic.Pointer[writer]
}

func (t *tokenStore) prepare() (err error) {
	if t.get, err = t.db.Prepare(`SELECT value, expires_at FROM tokens WHERE key=?`); err != nil {
		return err
	}
	t.set, err = t.db.Prepare(setToken)
	return err
}

const setToken = `INSERT INTO tokens (key, value, expires_at) VALUES (?, ?, ?)
	ON CONFLICT (key) DO UPDATE SET value=excluded.value, expires_at=excluded.expires_at`

func (t *tokenStore) close() {
	for _, s := range []*sql.Stmt{t.get, t.set} {
		if s != nil {
			s.Close()
		}
	}
}

func fileKey(key string) bool {
	return strings.HasPrefix(key, "authorizer_token:") || strings.HasPrefix(key, "refresh_token:")
}

func (t *tokenStore) Get(ctx context.Context, key string) (wxa.Token, bool, error) {
	if !fileKey(key) {
		return t.MemoryStore.Get(ctx, key)
	}
	if tok, ok := t.cache.get(key); ok {
		return tok, true, nil
	}
	var v string
	var exp int64
	err := t.get.QueryRowContext(ctx, key).Scan(&v, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return wxa.Token{}, false, nil
	}
	if err != nil {
		return wxa.Token{}, false, err
	}
	tok := wxa.Token{Value: v}
	if exp != 0 {
		tok.ExpiresAt = time.UnixMilli(exp)
	}
	t.cache.put(key, tok)
	return tok, true, nil
}

func (t *tokenStore) Set(ctx context.Context, key string, tok wxa.Token) error {
	if !fileKey(key) {
		return t.MemoryStore.Set(ctx, key, tok)
	}
	var exp int64
	if !tok.ExpiresAt.IsZero() {
		exp = tok.ExpiresAt.UnixMilli()
	}
	if t.seed != nil {
		// Conditional: what the file holds afterwards is read from it.
		t.cache.drop(key)
		_, err := t.seed.ExecContext(ctx, `INSERT INTO tokens (key, value, seed) VALUES (?1, ?2, ?2)
			ON CONFLICT (key) DO UPDATE SET value=excluded.value, seed=excluded.seed, expires_at=0 WHERE tokens.seed <> excluded.seed`, key, tok.Value)
		return err
	}
	t.cache.drop(key) // should the write fail, the file decides
	err := errClosed
	if w := t.group.Load(); w != nil {
		// A refresh shared by the SDK may end after the run's writer.
		err = w.writeToken(tokenRow{key, tok.Value, exp})
	}
	if errors.Is(err, errClosed) {
		_, err = t.set.ExecContext(ctx, key, tok.Value, exp)
	}
	if err != nil {
		return err
	}
	t.cache.put(key, tok)
	return nil
}

func (t *tokenStore) Delete(ctx context.Context, key, value string) error {
	if !fileKey(key) {
		return t.MemoryStore.Delete(ctx, key, value)
	}
	t.cache.drop(key)
	_, err := t.db.ExecContext(ctx, `DELETE FROM tokens WHERE key=?1 AND (?2='' OR value=?2)`, key, value)
	return err
}

func itoa(n int) string { return strconv.Itoa(n) }
