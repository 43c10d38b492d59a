package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/service"
)

// Options configure a Server.
type Options struct {
	Service  *service.Service
	AdminKey string
	Logger   *slog.Logger
	// Manual is the server clock when it runs in manual mode; it enables
	// the admin clock endpoints.
	Manual *clock.Manual
	Faults []FaultRule
	Limits Limits
	// NoMetricsPath leaves /metrics off the API port (serve's
	// --metrics-addr serves MetricsHandler on its own listener).
	NoMetricsPath bool
	// Metrics to report into (NewMetrics); made here when nil.
	Metrics *Metrics
	// BodyMemory bounds the bytes of request bodies held at once
	// (budget.go): DefaultBodyMemory when 0, at least MinBodyMemory.
	BodyMemory int64
}

// Server is the HTTP front of miniship: the WeChat API at WeChat's paths,
// the consent page, and the admin API under /miniship/v1.
type Server struct {
	svc      *service.Service
	log      *slog.Logger
	adminKey string
	manual   *clock.Manual
	// advanceMu makes each clock move and its storing one step.
	advanceMu sync.Mutex
	faults    *faults
	limits    *limiter
	budget    *bodyBudget
	turns     *turns
	wechat    map[string]route
	admin     *http.ServeMux

	metrics       *Metrics // observe.go
	noMetricsPath bool
	console       http.Handler
}

// New returns a Server.
func New(o Options) (*Server, error) {
	s := &Server{svc: o.Service, log: o.Logger, adminKey: o.AdminKey, manual: o.Manual, faults: &faults{}, limits: &limiter{svc: o.Service}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.faults.set(o.Faults); err != nil {
		return nil, err
	}
	if err := s.limits.set(o.Limits); err != nil {
		return nil, err
	}
	switch {
	case o.BodyMemory == 0:
		o.BodyMemory = DefaultBodyMemory
	case o.BodyMemory < MinBodyMemory:
		return nil, fmt.Errorf("body memory of %d bytes: at least %d, the largest request", o.BodyMemory, MinBodyMemory)
	}
	s.budget = newBodyBudget(o.BodyMemory)
	s.turns = newTurns(heavyBytes())
	s.wechat = s.routes()
	s.admin = s.adminRoutes()
	s.metrics, s.noMetricsPath = o.Metrics, o.NoMetricsPath
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	s.metrics.addStore(o.Service.Store(), o.Service)
	s.metrics.addBudget(s.budget, s.turns)
	if err := s.mountConsole(); err != nil {
		return nil, err
	}
	return s, nil
}

// dispatch answers the API by path (ServeHTTP, in observe.go, wraps it).
// Every answer is JSON (or the QR image, or the consent page); never Go's
// plain-text 404.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/miniship/healthz":
		// For load balancers, and the floor the load benchmarks divide by.
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	case p == "/":
		s.serveIndex(w, r)
	case strings.HasPrefix(p, adminPrefix):
		s.serveAdmin(w, r)
	case p == "/cgi-bin/componentloginpage" || p == "/safe/bindcomponent":
		s.serveConsent(w, r)
	default:
		if rt, ok := s.wechat[p]; ok {
			s.serveWeChat(w, r, rt)
			return
		}
		s.notFound(w, r)
	}
}
