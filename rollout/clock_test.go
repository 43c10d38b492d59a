package rollout_test

import (
	"sync"
	"time"
)

// testClock is the wall clock plus an offset the test moves, so a wait of
// an hour ends exactly when the test says, and shorter waits (the fleet's
// polls) still pass by themselves.
type testClock struct {
	mu    sync.Mutex
	off   time.Duration
	moved chan struct{}
}

func newTestClock() *testClock { return &testClock{moved: make(chan struct{})} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Moved() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.moved
}

// Advance moves the clock forward by d and wakes whoever waits on it.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
	close(c.moved)
	c.moved = make(chan struct{})
}
