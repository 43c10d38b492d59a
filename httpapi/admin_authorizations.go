package httpapi

import (
	"net/http"

	"github.com/miniship/miniship"
)

// authorizationAdminRoutes lists a platform's authorizations, refresh
// tokens included (the admin key already grants everything they do).
func (s *Server) authorizationAdminRoutes(h func(string, func(*http.Request) (int, any, error))) {
	h("GET /miniship/v1/platforms/{appid}/authorizations", s.adminListAuthorizations)
}

func (s *Server) adminListAuthorizations(r *http.Request) (int, any, error) {
	list, err := s.svc.Authorizations(r.Context(), r.PathValue("appid"))
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []*miniship.Authorization{}
	}
	return http.StatusOK, map[string]any{"authorizations": list}, nil
}
