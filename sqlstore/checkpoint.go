package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite copies the WAL back into the database file (a checkpoint) by
// default inside the commit that takes the WAL past 1000 pages: the
// writer, and every commit queued behind it, wait for the copy and its two
// fsyncs, several milliseconds many times a second under load. So a
// connection of the store's own checkpoints after commits, at most every
// checkpointEvery, while the writer goes on. PASSIVE never waits for the
// writer or a reader, and nothing waits for it (a writer's checkpoint
// that finds it running is skipped); frames a reader still needs are left
// to a later checkpoint. Like any checkpoint in synchronous=NORMAL, each
// syncs the WAL and then the database file: under light load that is two
// fsyncs after most commits, off the writer's path, where the default
// waited for 1000 pages.
//
// The writer still checkpoints, past walPages: only a checkpoint that
// finds nothing newer than what it copied lets the next write start the
// WAL over from its beginning, and the background's never does under
// load (the WAL grew by 90 MB a second without). By then the background
// has copied almost everything, so the writer's checkpoint is short. The
// WAL holds about walPages pages (40 MB), a fifth more when the writer's
// checkpoint was skipped for the background's; readers that keep holding
// snapshots keep it from starting over and let it grow, as they did with
// the default, and walLimit trims the file once it starts over. Measured
// under 32 clients against the default: commit p99 8.3-10.0 -> 6.4-6.7
// ms, p99.9 10.3-15.1 -> 8.3-9.9 ms.
//
// Checkpoints do not make anything durable: a commit is durable once in
// the WAL (see sqliteSync), and closing the last connection checkpoints
// it all.
type checkpointer struct {
	db      *sql.DB
	every   time.Duration // at most one checkpoint per every
	nudge   chan struct{} // a commit happened since the last checkpoint
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	ran     func() // tests: after each checkpoint
}

// checkpointEvery spaces the background's checkpoints, each of which syncs
// the database file.
const checkpointEvery = 50 * time.Millisecond

// walPages is where the writer checkpoints itself (wal_autocheckpoint).
const walPages = 10000

// walLimit is the size the WAL file is cut back to when it starts over
// (journal_size_limit), above what walPages keeps it at, so that only a
// WAL that readers made grow is cut.
const walLimit = 64 << 20

func newCheckpointer(db *sql.DB, every time.Duration) *checkpointer {
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, every: every, nudge: make(chan struct{}, 1),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that the WAL grew; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.stopped)
	for {
		select {
		case <-c.stop:
			return
		case <-c.nudge:
		}
		// An error (SQLITE_BUSY while another checkpoint runs) leaves the
		// frames to the next one.
		_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		if c.ran != nil {
			c.ran()
		}
		select {
		case <-c.stop:
			return
		case <-time.After(c.every):
		}
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() (err error) {
	c.once.Do(func() {
		close(c.stop)
		<-c.stopped
		err = c.db.Close()
	})
	return err
}
