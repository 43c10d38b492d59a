package service

// ForgetDerived empties the cache of derived version answers, for the
// benchmark of a first read.
func (s *Service) ForgetDerived() {
	s.derived = derivedCache{newLRU[*derivedVersion](derivedCacheBytes)}
}
