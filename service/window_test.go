package service

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/sqlstore"
	"github.com/miniship/miniship/wxerr"
)

// TestTakeWindow: the limit holds within a period, a new period starts
// the count again, and concurrent takes never pass the limit.
func TestTakeWindow(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	take := func(period int64) error {
		return st.Update(ctx, func(tx miniship.Tx) error {
			return takeWindow(tx, "k", period, 3, wxerr.DailyQuotaReached, "")
		})
	}
	for _, c := range []struct {
		period int64
		ok     bool
	}{{100, true}, {100, true}, {100, true}, {100, false}, {100, false}, {101, true}, {101, true}, {101, true}, {101, false}, {5, true}} {
		if err := take(c.period); (err == nil) != c.ok {
			t.Fatalf("period %d: %v, want ok=%v", c.period, err, c.ok)
		}
	}
	// Period 5 took one; of 10 concurrent takes exactly 2 more succeed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	okN := 0
	for range 10 {
		wg.Go(func() {
			err := take(5)
			if err != nil && !errors.Is(err, wxerr.DailyQuotaReached) {
				t.Error(err)
			}
			mu.Lock()
			okN += map[bool]int{true: 1}[err == nil]
			mu.Unlock()
		})
	}
	wg.Wait()
	if okN != 2 {
		t.Fatalf("%d concurrent takes passed, want 2", okN)
	}
}
