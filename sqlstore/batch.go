package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miniship/miniship"
)

// SQLite has one writer, so concurrent Updates queue for it, and each pays
// for a BEGIN, a COMMIT and the WAL frames of the pages it touched. The
// batcher is a group commit: while one transaction runs, the Updates that
// arrive queue up, and the next transaction runs them (up to maxBatch and
// maxBatchBytes, tenants taking turns: fair.go), each inside a SAVEPOINT
// of its own. A function that fails is rolled back to its savepoint alone,
// so what one caller stores never depends on another's error; the batch
// then commits once, and only after that COMMIT does any caller of the
// batch return, so an acknowledged write is as durable as before (kill -9
// loses nothing that returned).
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
// wait for the last ones' functions; maxBatchBytes (combine.go) bounds its
// payload, and tenants take turns in it (fair.go).
const maxBatch = 32

type writeReq struct {
	ctx  context.Context
	fn   func(miniship.Tx) error
	wake chan struct{} // closed when done, or when handed the writer
	lead bool          // set before wake is closed: run the next batch
	one  bool          // UpdateOne: fn may run one statement

	tenant string // miniship.TenantOf the caller's context, for fairPick
	bytes  int    // and the payload it declares

	err      error
	retry    bool // the failure was transient: run fn again in a later attempt
	panicked any  // fn panicked with this: the caller panics again with it
}

func (b *batcher) update(ctx context.Context, fn func(miniship.Tx) error, one bool) error {
	r := &writeReq{ctx: ctx, fn: fn, one: one, wake: make(chan struct{})}
	tenant, bytes := miniship.TenantOf(ctx)
	r.tenant, r.bytes = tenant, int(min(bytes, maxBatchBytes+1))
	b.mu.Lock()
	b.queue = append(b.queue, r)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if lead {
		// Yield once before taking the queue: requests already running on
		// this processor then queue behind this one and share its
		// transaction. Under load this turned most one-request
		// transactions (a BEGIN and a COMMIT each) into batches; alone,
		// it returns at once.
		runtime.Gosched()
	} else {
		<-r.wake
	}
	if lead || r.lead {
		b.lead()
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// lead runs the batch the caller's request heads, then hands the writer to
// the oldest waiting request and wakes the batch. Should the batch end
// abnormally (a panic outside the functions, runtime.Goexit), the writer
// is handed on and the batch woken all the same, with an error, rather
// than left taken for ever.
func (b *batcher) lead() {
	b.mu.Lock()
	q := b.queue
	picked := fairPick(len(q), func(i int) string { return q[i].tenant }, func(i int) int { return q[i].bytes })
	// The caller's request is the head, and the batch's first.
	batch, rest := takePicked(q, picked)
	b.queue = rest
	b.mu.Unlock()
	done := false
	defer func() {
		if !done {
			for _, o := range batch {
				if o.err == nil && o.panicked == nil {
					o.err = errors.New("sqlstore: the batch's transaction ended abnormally")
				}
			}
		}
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
	}()
	b.run(batch)
	done = true
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
		// Statements run under the caller's context without its
		// cancellation: SQLite rolls back the whole transaction when a
		// write is interrupted, which would take the batch with it. A
		// caller cancelled meanwhile is rolled back to its savepoint below.
		t := &tx{ctx: context.WithoutCancel(r.ctx), tx: sqlTx, d: s.d, write: true, one: r.one, stmts: s.writerStmts}
		err := call(r, t)
		if err == nil {
			err = r.ctx.Err()
		}
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
			if retry {
				rerunAfter(batch, stored)
			}
			for _, r := range stored {
				r.err, r.retry = fmt.Errorf("sqlstore: commit: %w", err), retry
			}
		} else if s.ckpt != nil {
			s.ckpt.committed()
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
// the functions that had succeeded run again in the next attempt, as do
// those that failed after them (their failure may rest on a write now
// undone).
func failAll(batch, stored []*writeReq, r *writeReq, err error) []*writeReq {
	rerunAfter(batch, stored)
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

// rerunAfter marks for another attempt every request that failed by its
// own function after the first of stored ran: it saw writes of the batch
// that will not be kept.
func rerunAfter(batch, stored []*writeReq) {
	if len(stored) == 0 {
		return
	}
	after := false
	for _, o := range batch {
		if o == stored[0] {
			after = true
			continue
		}
		if after && o.err != nil && o.panicked == nil && !slices.Contains(stored, o) {
			o.retry = true
		}
	}
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
