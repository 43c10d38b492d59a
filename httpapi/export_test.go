package httpapi

import (
	"context"
	"time"
)

// SetBodyWait shortens how long a request waits for the body budget.
func SetBodyWait(s *Server, d time.Duration) { s.budget.wait.Store(int64(d)) }

// BodyBytesHeld is the bytes of request bodies the server holds now.
func BodyBytesHeld(s *Server) int64 { return s.budget.held.Load() }

// SetTurnWait shortens how long a large request waits for its turn.
func SetTurnWait(s *Server, d time.Duration) { s.turns.wait.Store(int64(d)) }

// LargeRequestsWaiting is how many large requests wait for a turn now.
func LargeRequestsWaiting(s *Server) int64 { return s.turns.waiting.Load() }

// HoldTurns takes all the room for large requests, as many large requests
// being handled would; release gives it back.
func HoldTurns(s *Server) (release func()) {
	give, err := s.turns.take(context.Background(), "held by the test", s.turns.capacity)
	if err != nil {
		panic(err)
	}
	return give
}

// HeavyBody is the body size past which a request takes a turn.
const HeavyBody = heavyBody

// HoldBodyShare takes tenant's whole share of the body budget ("" for the
// endpoints read before any token), as its slow clients would; release
// gives it back.
func HoldBodyShare(s *Server, tenant string) (release func()) {
	g, err := s.budget.acquire(context.Background(), tenant, s.budget.share)
	if err != nil {
		panic(err)
	}
	return g.release
}

// SmallBody is the largest body that takes nothing of the budget.
const SmallBody = smallBody

// TurnsIdle reports an error unless every turn is free and nobody waits.
func TurnsIdle(s *Server) error { return s.turns.idle() }
