package rollout

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// writer applies the workers' row updates to the state file in group
// commits: one goroutine takes every update waiting and writes them in one
// transaction, with statements prepared once. A mark in flight (write)
// returns only once it is committed, so it is in the file before its call
// is made, exactly as with one transaction per update, at a fraction of
// the cost; other updates (post) are queued without waiting. Updates are
// committed in the order queued and each writes the whole row, so a write
// carries the app's changes before it (see process).
type writer struct {
	// mu lets close wait for senders: a token refresh the SDK shares
	// between callers may still finish after the run (see send).
	mu        sync.RWMutex
	closed    bool
	log       *slog.Logger
	db        *sql.DB
	save, tok *sql.Stmt
	ops       chan *writeOp
	done      chan struct{}
}

// writeOp is an app's row or, with tok set, a token (tokenStore.Set).
// err is nil for a write no one waits for (post).
type writeOp struct {
	a   app // a copy: the worker may change its app while this waits
	tok *tokenRow
	at  int64
	err chan error
}

type tokenRow struct {
	key, value string
	expires    int64
}

// maxBatch bounds a group commit; the workers (Concurrency) bound it first.
const maxBatch = 256

func newWriter(db *sql.DB, log *slog.Logger) (*writer, error) {
	save, err := db.Prepare(`UPDATE apps SET status=?, done=?, fresh=?, inflight=?, gray_pct=?, auditid=?, next_at=?,
		attempts=?, tries=?, errcode=?, errkind=?, errmsg=?, wait_kind=?, wait_since=?, updated_at=? WHERE appid=?`)
	if err != nil {
		return nil, err
	}
	tok, err := db.Prepare(setToken)
	if err != nil {
		save.Close()
		return nil, err
	}
	w := &writer{log: log, db: db, save: save, tok: tok, ops: make(chan *writeOp, maxBatch), done: make(chan struct{})}
	go w.loop()
	return w, nil
}

// close stops the writer once every update sent is written.
func (w *writer) close() {
	w.mu.Lock()
	w.closed = true
	close(w.ops)
	w.mu.Unlock()
	<-w.done
	w.save.Close()
	w.tok.Close()
}

// errClosed is a write after close.
var errClosed = errors.New("rollout: state writer closed")

// send queues op unless the writer is closed.
func (w *writer) send(op *writeOp) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return false
	}
	w.ops <- op
	return true
}

// write waits for a's row to be committed. It does not take a context: a
// result obtained must be recorded even while the run is being cancelled.
func (w *writer) write(a *app) error {
	op := &writeOp{a: *a, at: time.Now().UnixMilli(), err: make(chan error, 1)}
	if !w.send(op) {
		return errClosed
	}
	return <-op.err
}

// post queues a's row and returns at once; a failure to write it is
// logged (the app's next mark, which waits, meets it too).
func (w *writer) post(a *app) {
	if !w.send(&writeOp{a: *a, at: time.Now().UnixMilli()}) {
		w.log.Error("rollout: save state", "appid", a.ID, "err", errClosed)
	}
}

// writeToken waits for a token's row to be committed.
func (w *writer) writeToken(t tokenRow) error {
	op := &writeOp{tok: &t, err: make(chan error, 1)}
	if !w.send(op) {
		return errClosed
	}
	return <-op.err
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*writeOp, 0, maxBatch)
	for op := range w.ops {
		batch = append(batch[:0], op)
	more:
		for len(batch) < maxBatch {
			select {
			case op, ok := <-w.ops:
				if !ok {
					break more
				}
				batch = append(batch, op)
			default:
				break more
			}
		}
		err := w.commit(batch)
		for _, op := range batch {
			switch {
			case op.err != nil:
				op.err <- err
			case err != nil:
				w.log.Error("rollout: save state", "appid", op.a.ID, "err", err)
			}
		}
	}
}

func (w *writer) commit(batch []*writeOp) error {
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	save, tok := tx.StmtContext(ctx, w.save), tx.StmtContext(ctx, w.tok)
	for _, op := range batch {
		if t := op.tok; t != nil {
			if _, err := tok.ExecContext(ctx, t.key, t.value, t.expires); err != nil {
				return err
			}
			continue
		}
		a := &op.a
		code, kind, msg := 0, "", ""
		if a.Err != nil {
			code, kind, msg = a.Err.Code, a.Err.Kind, a.Err.Msg
		}
		_, err = save.ExecContext(ctx, a.Status, int(a.Done), a.Done == 0, int(a.Inflight), a.GrayPct, a.AuditID, ms(a.NextAt),
			a.Attempts, a.Tries, code, kind, msg, int(a.Wait), ms(a.WaitSince), op.at, a.ID)
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ms is t in unix milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}
