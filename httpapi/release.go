package httpapi

import "net/http"

// releaseRoutes adds audit, release, gray release and rollback endpoints.
func (s *Server) releaseRoutes(m map[string]route, code func(int, bool, func(*call) (any, error)) route) {
}

// auditAdminRoutes adds the reviewer's admin endpoints.
func (s *Server) auditAdminRoutes(h func(string, func(*http.Request) (int, any, error))) {
}
