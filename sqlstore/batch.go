package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miniship/miniship"
)

// SQLite has one writer, so concurrent Updates queue for it, and each pays
// for a BEGIN, a COMMIT and the WAL frames of the pages it touched. The
// batcher is a group commit: while one transaction runs, the Updates that
// arrive queue up, and the next transaction runs all of them (up to
// maxBatch), each inside a SAVEPOINT of its own. A function that fails is
// rolled back to its savepoint alone, so what one caller stores never
// depends on another's error; the batch then commits once, and only after
// that COMMIT does any caller of the batch return, so an acknowledged write
// is as durable as before (kill -9 loses nothing that returned).
//
// Leadership passes from caller to caller: the caller that finds the writer
// idle runs the batch its own request heads, then hands the writer to the
// oldest waiting request, whose caller runs the next batch. No goroutine
// belongs to the store, and no caller runs batches after its own has
// returned. A lone Update runs exactly as without a batcher: no savepoint.
type batcher struct {
	s *Store

	mu    sync.Mutex
	busy  bool // a caller is running a batch
	queue []*writeReq

	txs atomic.Int64 // transactions begun, for tests and the store's stats
}

// maxBatch bounds a batch, so that a burst does not make the first callers
// wait for the last ones' functions.
const maxBatch = 32

type writeReq struct {
	ctx  context.Context
	fn   func(miniship.Tx) error
	wake chan struct{} // closed when done, or when handed the writer
	lead bool          // set before wake is closed: run the next batch
	one  bool          // UpdateOne: fn may run one statement

	err      error
	retry    bool // the failure was transient: run fn again in a later attempt
	panicked any  // fn panicked with this: the caller panics again with it
}

func (b *batcher) update(ctx context.Context, fn func(miniship.Tx) error, one bool) error {
	r := &writeReq{ctx: ctx, fn: fn, one: one, wake: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if !lead {
		<-r.wake
	}
	if lead || r.lead {
		b.mu.Lock()
		batch := b.queue[:min(len(b.queue), maxBatch)] // r is the head
		b.queue = b.queue[len(batch):]
		b.mu.Unlock()
		b.run(batch)
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.busy = false
		} else {
			next := b.queue[0]
			next.lead = true
			close(next.wake)
		}
		b.mu.Unlock()
		for _, o := range batch[1:] {
			close(o.wake)
		}
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// run runs the batch, rerunning the requests whose failure was transient
// with backoff, as Store.run does for a single transaction.
func (b *batcher) run(batch []*writeReq) {
	for attempt := 1; ; attempt++ {
		batch = b.once(batch)
		if len(batch) == 0 || attempt == maxAttempts {
			return
		}
		d := time.Duration(1<<attempt) * time.Millisecond
		time.Sleep(d + rand.N(d))
	}
}

// once runs the batch in one transaction and returns the requests to run
// again; every other request has its result.
func (b *batcher) once(batch []*writeReq) (again []*writeReq) {
	s := b.s
	for _, r := range batch {
		r.err, r.retry, r.panicked = nil, false, nil
	}
	// The transaction is the batch's, not any caller's: one caller's
	// cancelled context must not roll back the others' work.
	bg := context.Background()
	b.txs.Add(1)
	sqlTx, err := s.writer.BeginTx(bg, &s.d.updateOpts)
	if err != nil {
		retry := s.d.classify(err) == errRetry
		for _, r := range batch {
			r.err, r.retry = fmt.Errorf("sqlstore: begin: %w", err), retry
		}
		return retryable(batch)
	}
	var missed []string
	defer func() {
		if len(missed) > 0 {
			s.writerStmts.prepare(bg, s.d, missed)
		}
	}()
	defer sqlTx.Rollback()        // a no-op after Commit
	ctl := func(q string) error { // savepoint statements, prepared once
		t := &tx{ctx: bg, tx: sqlTx, d: s.d, write: true, stmts: s.writerStmts}
		_, err := t.exec(q)
		missed = append(missed, t.missed...)
		return err
	}
	save := len(batch) > 1
	var stored []*writeReq // the requests whose writes the COMMIT will keep
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if save {
			if err := ctl("SAVEPOINT batch"); err != nil {
				return failAll(batch, stored, r, fmt.Errorf("sqlstore: savepoint: %w", err))
			}
		}
		t := &tx{ctx: r.ctx, tx: sqlTx, d: s.d, write: true, one: r.one, stmts: s.writerStmts}
		err := call(r, t)
		missed = append(missed, t.missed...)
		if err == nil {
			if save {
				if err := ctl("RELEASE batch"); err != nil {
					return failAll(batch, stored, r, fmt.Errorf("sqlstore: release: %w", err))
				}
			}
			stored = append(stored, r)
			continue
		}
		r.err = err
		// The cause of a retry can hide behind whatever fn made of it.
		r.retry = t.err != nil && s.d.classify(t.err) == errRetry
		if !save {
			return retryable(batch)
		}
		if err := ctl("ROLLBACK TO batch"); err != nil {
			return failAll(batch, stored, r, fmt.Errorf("sqlstore: rollback to savepoint: %w", err))
		}
		if err := ctl("RELEASE batch"); err != nil {
			return failAll(batch, stored, r, fmt.Errorf("sqlstore: release: %w", err))
		}
	}
	if len(stored) > 0 {
		if err := sqlTx.Commit(); err != nil {
			retry := s.d.classify(err) == errRetry
			for _, r := range stored {
				r.err, r.retry = fmt.Errorf("sqlstore: commit: %w", err), retry
			}
		}
	}
	return retryable(batch)
}

// call runs r's function on t, turning a panic into a result so that the
// batch goes on and r's own caller panics.
func call(r *writeReq, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.panicked = p
			err = fmt.Errorf("sqlstore: panic in transaction: %v", p)
		}
	}()
	err = r.fn(t)
	if err == nil && t.err != nil {
		// fn ignored a failed statement: committing would store half of it.
		err = t.err
	}
	return err
}

// failAll handles a savepoint statement that failed while r was current:
// the transaction cannot be trusted any more, so nothing of it is kept and
// the functions that had succeeded run again in the next attempt.
func failAll(batch, stored []*writeReq, r *writeReq, err error) []*writeReq {
	for _, o := range stored {
		o.err, o.retry = err, true
	}
	if r.err == nil && r.panicked == nil {
		r.err, r.retry = err, true
	}
	for _, o := range batch {
		if o.err == nil && o.panicked == nil { // not reached yet
			o.err, o.retry = err, true
		}
	}
	return retryable(batch)
}

func retryable(batch []*writeReq) []*writeReq {
	var again []*writeReq
	for _, r := range batch {
		if r.retry && r.panicked == nil {
			again = append(again, r)
		}
	}
	return again
}
