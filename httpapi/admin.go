package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

const adminPrefix = "/miniship/v1/"

// The admin API: JSON, bearer key, {"error": "..."} with a 4xx status.

func (s *Server) adminRoutes() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, f func(*http.Request) (int, any, error)) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			status, v, err := f(r)
			if err != nil {
				s.adminError(w, r, err)
				return
			}
			writeJSON(w, status, v)
		})
	}
	h("POST /miniship/v1/platforms", s.adminCreatePlatform)
	h("GET /miniship/v1/platforms/{appid}", s.adminGetPlatform)
	h("PATCH /miniship/v1/platforms/{appid}", s.adminUpdatePlatform)
	h("GET /miniship/v1/platforms/{appid}/ticket", s.adminTicket)
	h("POST /miniship/v1/platforms/{appid}/ticket", s.adminPushTicket)
	h("POST /miniship/v1/platforms/{appid}/authorizations", s.adminAuthorize)
	h("DELETE /miniship/v1/platforms/{appid}/authorizations/{authorizer}", s.adminUnauthorize)
	h("POST /miniship/v1/platforms/{appid}/drafts", s.adminCreateDraft)
	h("POST /miniship/v1/authorizers", s.adminCreateAuthorizer)
	h("GET /miniship/v1/authorizers/{appid}", s.adminGetAuthorizer)
	h("PATCH /miniship/v1/authorizers/{appid}", s.adminUpdateAuthorizer)
	m.HandleFunc("GET /miniship/v1/authorizers/{appid}/experience/package", s.adminExperiencePackage)
	h("GET /miniship/v1/clock", s.adminClock)
	h("POST /miniship/v1/clock/advance", s.adminAdvanceClock)
	h("GET /miniship/v1/faults", s.adminGetFaults)
	h("PUT /miniship/v1/faults", s.adminSetFaults)
	h("GET /miniship/v1/limits", s.adminGetLimits)
	h("PUT /miniship/v1/limits", s.adminSetLimits)
	h("GET /miniship/v1/events", s.adminEvents)
	s.auditAdminRoutes(h)
	s.grantAdminRoutes(h) // privacy, category and plugin applications (grants_admin.go)
	s.operatorAdminRoutes(m, h)
	s.storageAdminRoutes(h)
	s.authorizationAdminRoutes(h)
	return m
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	// The scheme's name is case-insensitive (RFC 9110 §11.1).
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	ok = ok && strings.EqualFold(scheme, "Bearer")
	key = strings.TrimLeft(key, " ")
	if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(s.adminKey)) != 1 || s.adminKey == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin API needs Authorization: Bearer <admin key>"})
		return
	}
	if _, pattern := s.admin.Handler(r); pattern == "" { // unknown path or method: JSON, not the mux's text
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no admin endpoint " + r.Method + " " + r.URL.Path})
		return
	}
	s.admin.ServeHTTP(w, r) // (Handler does not fill r.PathValue; ServeHTTP does)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func (s *Server) adminError(w http.ResponseWriter, r *http.Request, err error) {
	var we *wxerr.Error
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, service.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, miniship.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, miniship.ErrConflict):
		status = http.StatusConflict
	case errors.As(err, &we):
		status = http.StatusBadRequest
	default:
		if r.Context().Err() != nil { // the client went away: not the server's fault
			s.log.Debug("request cancelled", "path", r.URL.Path, "err", err)
		} else {
			s.log.Error("admin api", "path", r.URL.Path, "err", err)
		}
		writeJSON(w, status, map[string]string{"error": "internal error"})
		return
	}
	// errors.Join separates its parts with newlines; one line reads better
	// in a terminal than a JSON "\n".
	writeJSON(w, status, map[string]string{"error": strings.ReplaceAll(err.Error(), "\n", ": ")})
}

// decodeAdmin reads a JSON body strictly: admin callers are our own tools,
// so an unknown field is a mistake worth reporting.
func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.Join(service.ErrInvalid, err)
	}
	return nil
}

func (s *Server) adminCreatePlatform(r *http.Request) (int, any, error) {
	var p miniship.Platform
	if err := decodeAdmin(r, &p); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.CreatePlatform(r.Context(), &p)
	return http.StatusCreated, out, err
}

func (s *Server) adminGetPlatform(r *http.Request) (int, any, error) {
	var p *miniship.Platform
	err := s.svc.Store().View(r.Context(), func(tx miniship.Tx) (err error) {
		p, err = tx.GetPlatform(r.PathValue("appid"))
		return err
	})
	return http.StatusOK, p, err
}

func (s *Server) adminTicket(r *http.Request) (int, any, error) {
	t, err := s.svc.CurrentTicket(r.Context(), r.PathValue("appid"))
	return http.StatusOK, map[string]string{"component_verify_ticket": t}, err
}

// adminPushTicket issues and pushes a ticket now, like WeChat's
// api_start_push_ticket, instead of waiting for the 10-minute tick.
func (s *Server) adminPushTicket(r *http.Request) (int, any, error) {
	t, err := s.svc.IssueTicket(r.Context(), r.PathValue("appid"))
	return http.StatusOK, map[string]string{"component_verify_ticket": t}, err
}

func (s *Server) adminCreateAuthorizer(r *http.Request) (int, any, error) {
	var a miniship.Authorizer
	if err := decodeAdmin(r, &a); err != nil {
		return 0, nil, err
	}
	out, err := s.svc.CreateAuthorizer(r.Context(), &a)
	return http.StatusCreated, out, err
}

func (s *Server) adminGetAuthorizer(r *http.Request) (int, any, error) {
	var a *miniship.Authorizer
	err := s.svc.Store().View(r.Context(), func(tx miniship.Tx) (err error) {
		a, err = tx.GetAuthorizer(r.PathValue("appid"))
		return err
	})
	return http.StatusOK, a, err
}

func (s *Server) adminAuthorize(r *http.Request) (int, any, error) {
	var req struct {
		Authorizer     string `json:"authorizer_appid"`
		PermissionSets []int  `json:"permission_sets"`
	}
	if err := decodeAdmin(r, &req); err != nil {
		return 0, nil, err
	}
	// The answer lists the exclusive sets left out because another
	// platform holds them (withheld_permission_sets).
	g, err := s.svc.Grant(r.Context(), r.PathValue("appid"), req.Authorizer, req.PermissionSets)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, g, nil
}

func (s *Server) adminUnauthorize(r *http.Request) (int, any, error) {
	err := s.svc.Unauthorize(r.Context(), r.PathValue("appid"), r.PathValue("authorizer"))
	return http.StatusOK, map[string]bool{"ok": true}, err
}

// maxDraft caps an uploaded template: the 20 MB code limit plus room for
// the zip's own overhead.
const maxDraft = 24 << 20

func (s *Server) adminCreateDraft(r *http.Request) (int, any, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxDraft+1<<20)
	if err := r.ParseMultipartForm(maxDraft); err != nil {
		return 0, nil, errors.Join(service.ErrInvalid, err)
	}
	f, _, err := r.FormFile("package")
	if err != nil {
		return 0, nil, errors.Join(service.ErrInvalid, errors.New("multipart field package (the template zip) is required"))
	}
	defer f.Close()
	pkg, err := io.ReadAll(io.LimitReader(f, maxDraft+1))
	if err != nil {
		return 0, nil, errors.Join(service.ErrInvalid, err)
	}
	d := &miniship.Draft{
		PlatformAppID: r.PathValue("appid"),
		UserVersion:   r.FormValue("user_version"),
		UserDesc:      r.FormValue("user_desc"),
		SourceAppID:   r.FormValue("source_miniprogram_appid"),
		SourceName:    r.FormValue("source_miniprogram"),
		Developer:     r.FormValue("developer"),
		Package:       pkg,
	}
	if err := s.svc.CreateDraft(r.Context(), d); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]int64{"draft_id": d.ID}, nil
}

func (s *Server) adminExperiencePackage(w http.ResponseWriter, r *http.Request) {
	appid := r.PathValue("appid")
	zip, err := s.svc.ExperiencePackage(r.Context(), appid)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+appid+`-experience.zip"`)
	w.Write(zip)
}

func (s *Server) adminClock(r *http.Request) (int, any, error) {
	now := s.svc.Now()
	return http.StatusOK, map[string]any{"now": now.UTC().Format(time.RFC3339Nano), "unix": now.Unix(), "manual": s.manual != nil}, nil
}

// maxAdvance bounds one clock move: far beyond any TTL or quota period,
// and far from the time.Duration overflow (292 years) that made 1e10
// seconds a silent no-op.
const maxAdvance = 100 * 365 * 24 * time.Hour

func (s *Server) adminAdvanceClock(r *http.Request) (int, any, error) {
	if s.manual == nil {
		return 0, nil, errors.Join(service.ErrInvalid, errors.New("the clock is real: start the server with --clock manual"))
	}
	var req struct {
		Seconds *float64 `json:"seconds"`
	}
	if err := decodeAdmin(r, &req); err != nil {
		return 0, nil, err
	}
	switch sec := req.Seconds; {
	case sec == nil:
		return 0, nil, errors.Join(service.ErrInvalid, errors.New(`"seconds" (a number) is required`))
	case math.IsNaN(*sec) || *sec < 0:
		return 0, nil, errors.Join(service.ErrInvalid, errors.New("seconds must not be negative: the clock never runs backwards"))
	case *sec > maxAdvance.Seconds():
		return 0, nil, errors.Join(service.ErrInvalid, fmt.Errorf("seconds must be at most %.0f (100 years) per call", maxAdvance.Seconds()))
	}
	// Serialised so the stored position is the one in memory; stored so a
	// restart resumes here (service.StoredClock).
	s.advanceMu.Lock()
	now := s.manual.Advance(time.Duration(*req.Seconds * float64(time.Second)))
	err := s.svc.SaveClock(r.Context(), now)
	s.advanceMu.Unlock()
	if err != nil {
		return 0, nil, err
	}
	// Work that follows the clock (ticket pushes, auto-audits) runs now
	// rather than at the next background tick, so tests see it at once.
	s.svc.Tick(r.Context())
	return http.StatusOK, map[string]any{"now": now.UTC().Format(time.RFC3339Nano), "unix": now.Unix(), "manual": true}, nil
}

func (s *Server) adminGetFaults(r *http.Request) (int, any, error) {
	return http.StatusOK, map[string]any{"rules": s.faults.get()}, nil
}

func (s *Server) adminSetFaults(r *http.Request) (int, any, error) {
	var req struct {
		Rules []FaultRule `json:"rules"`
	}
	if err := decodeAdmin(r, &req); err != nil {
		return 0, nil, err
	}
	if err := s.faults.set(req.Rules); err != nil {
		return 0, nil, errors.Join(service.ErrInvalid, err)
	}
	return http.StatusOK, map[string]any{"rules": s.faults.get()}, nil
}

func (s *Server) adminGetLimits(r *http.Request) (int, any, error) {
	return http.StatusOK, s.limits.get().Effective(), nil
}

func (s *Server) adminSetLimits(r *http.Request) (int, any, error) {
	var l Limits
	if err := decodeAdmin(r, &l); err != nil {
		return 0, nil, err
	}
	if err := s.limits.set(l); err != nil {
		return 0, nil, errors.Join(service.ErrInvalid, err)
	}
	return http.StatusOK, s.limits.get().Effective(), nil
}

type eventView struct {
	*miniship.Event
	AttemptList []*miniship.EventAttempt `json:"attempt_list"`
}

func (s *Server) adminEvents(r *http.Request) (int, any, error) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []eventView
	err := s.svc.Store().View(r.Context(), func(tx miniship.Tx) error {
		evs, err := tx.ListEvents(r.URL.Query().Get("platform"), limit)
		if err != nil {
			return err
		}
		out = make([]eventView, 0, len(evs))
		for _, e := range evs {
			at, err := tx.ListEventAttempts(e.ID)
			if err != nil {
				return err
			}
			out = append(out, eventView{e, at})
		}
		return nil
	})
	return http.StatusOK, map[string]any{"events": out}, err
}
