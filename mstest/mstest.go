// Package mstest starts a real miniship server inside a Go test, like
// net/http/httptest: a real listener on a random port, a temporary SQLite
// database, and a manual clock the test moves. Helpers create a platform,
// mini programs and templates in a line each.
package mstest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/outbox"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

// Options tune the server; the zero value is a quiet server whose clock
// starts at 2026-01-05 10:00 UTC (a Monday) and whose privacy scan takes 3 s.
type Options struct {
	Config   service.Config
	Faults   []httpapi.FaultRule
	Limits   httpapi.Limits
	Database string // a DSN; empty for a temporary SQLite file
	Start    time.Time
	Logger   *slog.Logger
	// BodyMemory is httpapi.Options.BodyMemory: 0 for its default.
	BodyMemory int64
}

// Server is a running in-process miniship.
type Server struct {
	URL      string
	AdminKey string
	Clock    *clock.Manual
	Service  *service.Service
	Store    miniship.Store
	API      *httpapi.Server
	Outbox   *outbox.Deliverer

	srv        *httptest.Server
	cancel     context.CancelFunc
	outboxDone chan struct{}
}

// New starts a server and stops it when the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dsn := o.Database
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "miniship.db")
	}
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		cancel()
		t.Fatalf("mstest: open store: %v", err)
	}
	start := o.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := clock.NewManual(start)
	metrics := httpapi.NewMetrics()
	svc := service.New(service.Options{Store: store, Clock: clk, Logger: log, Config: o.Config, OnEngine: metrics.ObserveEngine})
	s := &Server{AdminKey: "mstest-admin-key", Clock: clk, Service: svc, Store: store, cancel: cancel}
	s.API, err = httpapi.New(httpapi.Options{Service: svc, AdminKey: s.AdminKey, Logger: log, Manual: clk, Faults: o.Faults, Limits: o.Limits, Metrics: metrics,
		BodyMemory: o.BodyMemory})
	if err != nil {
		cancel()
		t.Fatalf("mstest: %v", err)
	}
	s.srv = httptest.NewServer(s.API)
	s.URL = s.srv.URL
	s.Outbox = outbox.New(outbox.Options{Store: store, Clock: clk, Logger: log, Poll: 20 * time.Millisecond, OnDelivered: metrics.ObserveDelivery})
	s.outboxDone = make(chan struct{})
	go func() { s.Outbox.Run(ctx); close(s.outboxDone) }()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; New registers it with t.Cleanup.
func (s *Server) Close() {
	s.cancel()
	<-s.outboxDone // its attempts in flight are recorded before the store closes
	s.srv.Close()
	s.Store.Close()
}

// Advance moves the server clock and runs what follows it (ticket pushes,
// automatic audit decisions), as POST /miniship/v1/clock/advance does.
func (s *Server) Advance(d time.Duration) {
	s.Clock.Advance(d)
	s.Service.Tick(context.Background())
}

// Platform creates a third-party platform. p may be nil; empty fields are
// generated (AppID defaults to "wxplatform000001" style names).
func (s *Server) Platform(t testing.TB, p *miniship.Platform) *miniship.Platform {
	t.Helper()
	if p == nil {
		p = &miniship.Platform{}
	}
	if p.AppID == "" {
		p.AppID = "wxcomponent" + randomSuffix(t)
	}
	out, err := s.Service.CreatePlatform(context.Background(), p)
	if err != nil {
		t.Fatalf("mstest: create platform: %v", err)
	}
	return out
}

// Ticket returns the platform's current component_verify_ticket.
func (s *Server) Ticket(t testing.TB, platform string) string {
	t.Helper()
	tk, err := s.Service.CurrentTicket(context.Background(), platform)
	if err != nil {
		t.Fatalf("mstest: ticket: %v", err)
	}
	return tk
}

// MiniProgram creates a mini program authorized to the platform with every
// default permission set and returns its refresh token. a may be nil: the
// default is a complete profile with one category, a development privacy
// guide describing every key (so audits pass the guide check), and no
// privacy grants. A given a with Categories set gets no guide.
func (s *Server) MiniProgram(t testing.TB, platform string, a *miniship.Authorizer) (*miniship.Authorizer, string) {
	t.Helper()
	ctx := context.Background()
	if a == nil {
		a = &miniship.Authorizer{}
	}
	if a.AppID == "" {
		a.AppID = "wxapp" + randomSuffix(t)
	}
	seedGuide := a.Categories == nil
	if seedGuide {
		a.ProfileComplete = true
		a.Categories = []miniship.Category{{FirstClass: "工具", SecondClass: "效率", FirstID: 287, SecondID: 612}}
	}
	out, err := s.Service.CreateAuthorizer(ctx, a)
	if err != nil {
		t.Fatalf("mstest: create mini program: %v", err)
	}
	if seedGuide {
		if err := s.Service.SeedPrivacyGuide(ctx, out.AppID); err != nil {
			t.Fatalf("mstest: privacy guide: %v", err)
		}
	}
	auth, err := s.Service.Authorize(ctx, platform, out.AppID, nil)
	if err != nil {
		t.Fatalf("mstest: authorize: %v", err)
	}
	return out, auth.RefreshToken
}

// Template uploads a template zip (nil for the demo shop template) as a
// draft and adds it to the platform's library; it returns the template_id.
func (s *Server) Template(t testing.TB, platform string, zip []byte, typ int) int64 {
	t.Helper()
	ctx := context.Background()
	if zip == nil {
		zip = demo.TemplateZip()
	}
	d := &miniship.Draft{PlatformAppID: platform, UserVersion: "1.0.0", UserDesc: "mstest", Package: zip}
	if err := s.Service.CreateDraft(ctx, d); err != nil {
		t.Fatalf("mstest: create draft: %v", err)
	}
	c := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: platform}
	if err := s.Service.AddToTemplate(ctx, c, d.ID, typ); err != nil {
		t.Fatalf("mstest: add to template: %v", err)
	}
	ts, err := s.Service.ListTemplates(ctx, c, -1)
	if err != nil {
		t.Fatalf("mstest: list templates: %v", err)
	}
	var id int64
	for _, tp := range ts {
		if tp.DraftID == d.ID {
			id = tp.TemplateID
		}
	}
	return id
}
