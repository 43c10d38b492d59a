package sqlstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
)

// TestSQLiteCheckpointer: the WAL reaches the database file by the
// store's own checkpoints while it is open, and the writer checkpoints
// only past walPages.
func TestSQLiteCheckpointer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "miniship.db")
	s, err := OpenSQLite(t.Context(), path)
	ok(t, err)
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	var pages, limit int
	ok(t, s.writer.QueryRow("PRAGMA wal_autocheckpoint").Scan(&pages))
	ok(t, s.writer.QueryRow("PRAGMA journal_size_limit").Scan(&limit))
	equal(t, [2]int{pages, limit}, [2]int{walPages, walLimit})

	ran := make(chan struct{}, 1)
	s.ckpt.ran = func() {
		select {
		case ran <- struct{}{}:
		default:
		}
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		ok(t, err)
		return fi.Size()
	}
	before := size()
	// About 2 MB in 200 commits: 500 pages, far below walPages.
	fixtures(t, s)
	ext := `{"pad":"` + strings.Repeat("x", 10<<10) + `"}`
	for i := range 200 {
		update(t, s, func(tx miniship.Tx) error {
			return tx.CreateVersion(&miniship.Version{AuthorizerAppID: "wxa", UserVersion: "1", ExtJSON: ext, CreatedAt: at(i)})
		})
	}
	// Each commit wakes the checkpointer, so one runs after the last.
	for size() < before+(1<<20) {
		select {
		case <-ran:
		case <-time.After(30 * time.Second):
			t.Fatalf("the database file is %d bytes after 2 MB of commits (%d before): nothing checkpointed", size(), before)
		}
	}

	// Close stops the checkpointer and closes its connection.
	ok(t, s.Close())
	closed = true
	select {
	case <-s.ckpt.stopped:
	default:
		t.Fatal("the checkpointer runs on after Close")
	}
	if err := s.ckpt.db.Ping(); err == nil {
		t.Fatal("the checkpointer's connection is open after Close")
	}
}
