package httpapi

import "net/http"

// storageAdminRoutes adds the storage report and an on-demand prune.
func (s *Server) storageAdminRoutes(h func(string, func(*http.Request) (int, any, error))) {
	h("GET /miniship/v1/storage", s.adminStorage)
	h("POST /miniship/v1/storage/prune", s.adminPrune)
}

// adminStorage reports the row count of every table.
func (s *Server) adminStorage(r *http.Request) (int, any, error) {
	n, err := s.svc.TableSizes(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"tables": n}, nil
}

// adminPrune prunes now, as the background prune does, and reports what
// it deleted.
func (s *Server) adminPrune(r *http.Request) (int, any, error) {
	n, err := s.svc.Prune(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"pruned": n}, nil
}
