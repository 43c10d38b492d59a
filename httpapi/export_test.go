package httpapi

import "time"

// SetBodyWait shortens how long a request waits for the body budget.
func SetBodyWait(s *Server, d time.Duration) { s.budget.wait.Store(int64(d)) }

// BodyBytesHeld is the bytes of request bodies the server holds now.
func BodyBytesHeld(s *Server) int64 { return s.budget.held.Load() }
