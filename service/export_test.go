package service

import "time"

// ForgetDerived empties the cache of derived version answers, for the
// benchmark of a first read.
func (s *Service) ForgetDerived() {
	s.derived = derivedCache{newLRU[*derivedVersion](derivedCacheBytes)}
}

// SetRealNow replaces the real time the reject-only reviewer ages its
// watermark by (review.go), so tests need not wait for it.
func (s *Service) SetRealNow(now func() time.Time) { s.realNow = now }
