package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

// authorizationAdminRoutes lists a platform's authorizations, refresh
// tokens included (the admin key already grants everything they do).
func (s *Server) authorizationAdminRoutes(h func(string, func(*http.Request) (int, any, error))) {
	h("GET /miniship/v1/platforms/{appid}/authorizations", s.adminListAuthorizations)
}

// adminListAuthorizations answers a page (?limit=, ?after= the previous
// page's next_after); next_after is "" on the last page.
func (s *Server) adminListAuthorizations(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			return 0, nil, errors.Join(service.ErrInvalid, errors.New("limit must be a non-negative integer"))
		}
	}
	page, err := s.svc.Authorizations(r.Context(), r.PathValue("appid"), q.Get("after"), limit)
	if err != nil {
		return 0, nil, err
	}
	list := page.Authorizations
	if list == nil {
		list = []*miniship.Authorization{}
	}
	return http.StatusOK, map[string]any{"authorizations": list, "next_after": page.NextAfter}, nil
}
