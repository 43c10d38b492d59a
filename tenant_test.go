package miniship_test

import (
	"context"
	"sync"
	"testing"

	"github.com/miniship/miniship"
)

// TestEndTurn: EndTurn calls the end WithTurn marked ctx with, under marks
// added later, and does nothing without one.
func TestEndTurn(t *testing.T) {
	miniship.EndTurn(t.Context()) // no turn: nothing to do
	ends := 0
	ctx := miniship.WithTurn(t.Context(), sync.OnceFunc(func() { ends++ }))
	ctx = miniship.WithTenant(ctx, "wxp", 100)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	miniship.EndTurn(ctx)
	miniship.EndTurn(ctx)
	if ends != 1 {
		t.Fatalf("ended %d times, want 1", ends)
	}
	if id, n := miniship.TenantOf(ctx); id != "wxp" || n != 100 {
		t.Fatalf("tenant %q %d under a turn", id, n)
	}
}
