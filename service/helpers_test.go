package service_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

// demoService is a service on a fresh SQLite store, wrapped by wrap when it
// is set, with the demo seeded, on a manual clock at 2026-01-05 10:00 UTC.
func demoService(t testing.TB, cfg service.Config, wrap func(miniship.Store) miniship.Store) (*service.Service, *clock.Manual, *demo.Seeded) {
	t.Helper()
	inner, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "service.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	var store miniship.Store = inner
	if wrap != nil {
		store = wrap(inner)
	}
	clk := clock.NewManual(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
	svc := service.New(service.Options{Store: store, Clock: clk, Config: cfg})
	seeded, err := demo.Seed(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk, seeded
}

// demoCaller is a demo mini program's caller, as its authorizer token
// makes it.
func demoCaller(appid string) *service.Caller {
	return &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: demo.PlatformAppID, AuthorizerAppID: appid}
}
