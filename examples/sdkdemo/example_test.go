package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miniship/miniship/clock"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

// demoURL and demoKey are an in-process `serve --demo` (TestMain).
var demoURL, demoKey string

// Example is the README's SDK example, run against a demo server as
// serve --demo seeds it (the README harness runs the program itself
// against the real binary).
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, demoURL, demoKey, os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// committed 1.1.0
	// submitted for audit in 商家自营/百货
	// audit approved
	// released 1.1.0
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "sdkdemo")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		ctx := context.Background()
		store, err := sqlstore.Open(ctx, filepath.Join(dir, "miniship.db"))
		if err != nil {
			panic(err)
		}
		defer store.Close()
		// The real clock, as serve runs by default; a short privacy scan
		// keeps the example quick (WaitPrivacyScan polls for its end).
		svc := service.New(service.Options{Store: store, Clock: clock.Real{}, Logger: slog.New(slog.DiscardHandler),
			Config: service.Config{ScanDuration: 100 * time.Millisecond}})
		if _, err := demo.Seed(ctx, svc); err != nil {
			panic(err)
		}
		demoKey = "example-admin-key"
		api, err := httpapi.New(httpapi.Options{Service: svc, AdminKey: demoKey, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			panic(err)
		}
		srv := httptest.NewServer(api)
		defer srv.Close()
		demoURL = srv.URL
		return m.Run()
	}())
}
