package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

// The operator's admin endpoints:
//
//	POST /miniship/v1/events/{id}/redeliver          a failed push, queued again
//	GET  /miniship/v1/runtime/{appid}/package?user=  the zip a runtime runs

func (s *Server) operatorAdminRoutes(m *http.ServeMux, h func(string, func(*http.Request) (int, any, error))) {
	h("POST /miniship/v1/events/{id}/redeliver", s.adminRedeliver)
	m.HandleFunc("GET /miniship/v1/runtime/{appid}/package", s.adminRuntimePackage)
}

func (s *Server) adminRedeliver(r *http.Request) (int, any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, errors.Join(service.ErrInvalid, errors.New("event id must be a positive number"))
	}
	e, err := s.svc.RedeliverEvent(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, e, nil
}

// adminRuntimePackage answers the zip the user's runtime should run. The
// ETag names the version: a version's package never changes, so a runtime
// polling with If-None-Match gets 304 without the zip being built.
func (s *Server) adminRuntimePackage(w http.ResponseWriter, r *http.Request) {
	appid, user := r.PathValue("appid"), r.URL.Query().Get("user")
	if user == "" || len(user) > 128 {
		s.adminError(w, r, errors.Join(service.ErrInvalid, errors.New("user (1 to 128 characters) is required")))
		return
	}
	p, err := s.svc.RuntimePackage(r.Context(), appid, user)
	switch {
	case errors.Is(err, service.ErrPaused):
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
		return
	case errors.Is(err, miniship.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no released version of " + appid})
		return
	case err != nil:
		s.adminError(w, r, err)
		return
	}
	etag := `"` + appid + "-" + strconv.FormatInt(p.VersionID, 10) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("X-Miniship-Version", p.UserVersion)
	w.Header().Set("Cache-Control", "no-cache") // revalidate each time: the gray moves
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	zip, err := s.svc.Zip(r.Context(), p)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(zip)))
	w.Write(zip)
}

// etagMatch applies If-None-Match's weak comparison: a list of tags, or *.
func etagMatch(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
