package mstest

import (
	"context"
	"sync"
)

// BuildGate holds commits in their build for as long as a test needs, so
// that the 9402202 window never depends on the machine's speed. Set
// service.Config.CommitBuild to its Build. While the gate is held, a
// commit claims its mini program and waits; every other commit of that
// mini program answers 9402202. The zero gate is open.
type BuildGate struct {
	mu      sync.Mutex
	held    chan struct{} // nil when open; closed by Release
	waiting chan struct{}
}

// Build is the commit's build: it returns at once while the gate is open,
// and waits for Release (or the request's end) while it is held.
func (g *BuildGate) Build(ctx context.Context) error {
	g.mu.Lock()
	held, waiting := g.held, g.waiting
	g.mu.Unlock()
	if held == nil {
		return nil
	}
	select {
	case waiting <- struct{}{}:
	default:
	}
	select {
	case <-held:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hold makes the builds that start from now on wait.
func (g *BuildGate) Hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held, g.waiting = make(chan struct{}), make(chan struct{}, 1024)
	}
}

// Waiting is told once per build that waits at the held gate: after it,
// the commit holds its mini program.
func (g *BuildGate) Waiting() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

// Release lets the waiting builds finish and opens the gate.
func (g *BuildGate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held, g.waiting = nil, nil
	}
}
