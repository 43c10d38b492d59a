package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/miniship/miniship"
)

// Metrics and the access log. Every request passes through ServeHTTP here:
// it gets a rid (the one its errmsg ends with), is timed, counted by route
// and errcode, and logged once at info. The registry is the server's own,
// so two servers in one process (tests) do not share counters.

// Metrics are a server's Prometheus metrics, on a registry of their own.
// Make them before the service and the push deliverer so that those report
// into them too: pass ObserveEngine as service.Options.OnEngine,
// ObserveDelivery as outbox.Options.OnDelivered, and the Metrics as
// Options.Metrics. One Metrics serves one Server.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	engine   prometheus.Histogram
	delivery *prometheus.HistogramVec
}

// NewMetrics returns metrics with the request, engine, delivery and Go
// runtime metrics; the server adds the store's when it starts.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "miniship_http_requests_total",
		Help: "HTTP requests by route (the WeChat path or the admin pattern), HTTP status and WeChat errcode (empty for non-WeChat answers).",
	}, []string{"path", "status", "errcode"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "miniship_http_request_duration_seconds",
		Help:    "Time to answer, by route. /wxa/commit's includes the commit engine.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"path"})
	m.engine = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "miniship_commit_engine_seconds",
		Help:    "Time of the ext_json engine (validate and merge) per commit, errcodes included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
	})
	m.delivery = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "miniship_push_delivery_seconds",
		Help:    "From a push being queued to its receiver accepting it (server clock), by event kind; retries included.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"kind"})
	m.reg.MustRegister(m.requests, m.latency, m.engine, m.delivery,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveEngine records one run of the commit engine.
func (m *Metrics) ObserveEngine(d time.Duration) { m.engine.Observe(d.Seconds()) }

// ObserveDelivery records one accepted push. Event kinds are a fixed set
// (component_verify_ticket, weapp_audit_success, …): no per-app labels.
func (m *Metrics) ObserveDelivery(kind string, d time.Duration) {
	m.delivery.WithLabelValues(kind).Observe(d.Seconds())
}

// addStore registers the collectors that read the store at each scrape.
func (m *Metrics) addStore(store miniship.Store, clk miniship.Clock) {
	m.reg.MustRegister(&outboxCollector{store: store, clock: clk})
	if p, ok := store.(interface{ Pools() map[string]*sql.DB }); ok {
		for name, db := range p.Pools() {
			m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
		}
	}
}

// addBudget registers the gauges of the body budget (budget.go) and of
// large requests' turns (turns.go).
func (m *Metrics) addBudget(b *bodyBudget, t *turns) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "miniship_request_body_bytes",
		Help: "Bytes of request bodies held now, of the budget --body-memory-mb sets.",
	}, func() float64 { return float64(b.held.Load()) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "miniship_request_body_refused_total",
		Help: "Requests answered -1 (system busy) after waiting for the body budget.",
	}, func() float64 { return float64(b.refused.Load()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "miniship_large_requests_waiting",
		Help: "Requests with bodies over 16 KiB, code images and uploads waiting for their turn at the processors.",
	}, func() float64 { return float64(t.waiting.Load()) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "miniship_large_requests_total",
		Help: "Requests with bodies over 16 KiB, code images and uploads, which take turns at the processors.",
	}, func() float64 { return float64(t.taken.Load()) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "miniship_large_requests_refused_total",
		Help: "Requests with bodies over 16 KiB, code images and uploads answered -1 (system busy) after waiting for their turn.",
	}, func() float64 { return float64(t.refused.Load()) }))
}

// outboxCollector reads the outbox at a scrape: counts of pending and
// failed pushes, and the age of the oldest due one (delivery lag). It
// reads it at most once every outboxScrapeEvery: /metrics on the API
// port answers anyone, and a flood of scrapes must not become a flood of
// counts of a large outbox.
type outboxCollector struct {
	store miniship.Store
	clock miniship.Clock

	mu   sync.Mutex
	read time.Time // real time of the last read; zero: never
	last outboxRead
}

type outboxRead struct {
	ok              bool
	pending, failed int
	lag             float64
}

const outboxScrapeEvery = time.Second

var (
	outboxEvents = prometheus.NewDesc("miniship_outbox_events", "Pushes in the outbox by status (pending, failed).", []string{"status"}, nil)
	outboxLag    = prometheus.NewDesc("miniship_outbox_oldest_due_seconds", "How long the oldest due push has waited past its due time; 0 when none is due.", nil, nil)
	outboxUp     = prometheus.NewDesc("miniship_outbox_scrape_ok", "1 when the outbox could be read at this scrape.", nil, nil)
)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxEvents
	ch <- outboxLag
	ch <- outboxUp
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.read.IsZero() || time.Since(c.read) >= outboxScrapeEvery {
		c.last, c.read = c.readOutbox(), time.Now()
	}
	r := c.last
	c.mu.Unlock()
	if !r.ok {
		ch <- prometheus.MustNewConstMetric(outboxUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(outboxEvents, prometheus.GaugeValue, float64(r.pending), miniship.EventPending)
	ch <- prometheus.MustNewConstMetric(outboxEvents, prometheus.GaugeValue, float64(r.failed), miniship.EventFailed)
	ch <- prometheus.MustNewConstMetric(outboxLag, prometheus.GaugeValue, r.lag)
}

func (c *outboxCollector) readOutbox() outboxRead {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var pending, failed int
	var lag float64
	err := c.store.View(ctx, func(tx miniship.Tx) (err error) {
		if pending, err = tx.CountEvents(miniship.EventPending); err != nil {
			return err
		}
		if failed, err = tx.CountEvents(miniship.EventFailed); err != nil {
			return err
		}
		now := c.clock.Now()
		due, err := tx.DueEvents(now, 1)
		if err == nil && len(due) == 1 && !due[0].NextAttemptAt.IsZero() {
			lag = now.Sub(due[0].NextAttemptAt).Seconds()
		}
		return err
	})
	return outboxRead{ok: err == nil, pending: pending, failed: failed, lag: lag}
}

// MetricsHandler serves the Prometheus text format; serve mounts it on
// --metrics-addr, and ServeHTTP at /metrics unless Options.NoMetricsPath.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

type ridKey struct{}

// ridOf is the request's rid, made when the request came in.
func ridOf(r *http.Request) string {
	if rid, ok := r.Context().Value(ridKey{}).(string); ok {
		return rid
	}
	return newRID()
}

// recorder keeps what the access log and the metrics need from an answer:
// the status, and the errcode at the start of a WeChat JSON body.
type recorder struct {
	http.ResponseWriter
	status int
	head   [32]byte // in place: an append would allocate on every answer
	n      int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += copy(w.head[w.n:], b)
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var errcodePrefix = []byte(`{"errcode":`)

// errcode reads the errcode WeChat answers start with; "" when the body
// is not a WeChat answer (admin, console, files) and "0" for the token
// endpoints' bare success.
func (w *recorder) errcode(wechat bool) string {
	if !wechat {
		return ""
	}
	rest, ok := bytes.CutPrefix(w.head[:w.n], errcodePrefix)
	if !ok {
		return "0"
	}
	end := bytes.IndexAny(rest, ",}")
	if end < 0 {
		return "?"
	}
	return string(rest[:end])
}

// route names the request for metrics by a bounded set: the WeChat path
// when it is one, the admin pattern, or a fixed name.
func (s *Server) route(r *http.Request) (name string, wechat bool) {
	p := r.URL.Path
	switch {
	case p == "/miniship/v1/openapi.json":
		return p, false
	case strings.HasPrefix(p, adminPrefix):
		if _, pattern := s.admin.Handler(r); pattern != "" {
			return pattern, false
		}
		return "admin:unknown", false
	case strings.HasPrefix(p, "/console/") || p == "/console":
		return "/console/", false
	case p == "/metrics" || p == "/miniship/healthz" || p == "/miniship/v1/openapi.json":
		return p, false
	}
	if _, ok := s.wechat[p]; ok {
		return p, true
	}
	return "unknown", true
}

// ServeHTTP answers one request: the operator pages (console, metrics),
// then the API (dispatch), with the access log and metrics around both.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := newRID()
	r = r.WithContext(context.WithValue(r.Context(), ridKey{}, rid))
	rec := &recorder{ResponseWriter: w}
	switch p := r.URL.Path; {
	case p == "/miniship/v1/openapi.json" && r.Method == http.MethodGet: // public: no admin key
		s.serveOpenAPI(rec, r)
	case p == "/metrics" && !s.noMetricsPath:
		s.MetricsHandler().ServeHTTP(rec, r)
	case (p == "/console" || strings.HasPrefix(p, "/console/")) && s.console != nil:
		s.console.ServeHTTP(rec, r)
	default:
		s.dispatch(rec, r)
	}
	d := time.Since(start)
	name, wechat := s.route(r)
	code := rec.errcode(wechat)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	s.metrics.requests.WithLabelValues(name, strconv.Itoa(status), code).Inc()
	s.metrics.latency.WithLabelValues(name).Observe(d.Seconds())
	// The path only: queries carry access tokens.
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "http", slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("errcode", code), slog.Duration("duration", d), slog.String("rid", rid))
}
