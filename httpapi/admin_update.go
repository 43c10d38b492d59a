package httpapi

import (
	"net/http"

	"github.com/miniship/miniship/service"
)

func (s *Server) adminUpdatePlatform(r *http.Request) (int, any, error) {
	var u service.PlatformUpdate
	if err := decodeAdmin(r, &u); err != nil {
		return 0, nil, err
	}
	p, err := s.svc.UpdatePlatform(r.Context(), r.PathValue("appid"), u)
	return http.StatusOK, p, err
}

func (s *Server) adminUpdateAuthorizer(r *http.Request) (int, any, error) {
	var u service.AuthorizerUpdate
	if err := decodeAdmin(r, &u); err != nil {
		return 0, nil, err
	}
	a, err := s.svc.UpdateAuthorizer(r.Context(), r.PathValue("appid"), u)
	return http.StatusOK, a, err
}
