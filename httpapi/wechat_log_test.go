package httpapi_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

// TestWeChatErrorLogLevels: an injected fault and a request its client
// abandoned are logged at debug, as such; a real internal error (here, a
// closed database) is still logged at ERROR. Each case sends one request
// over a real listener and reads the log once its access line is written.
func TestWeChatErrorLogLevels(t *testing.T) {
	const path = "/wxa/get_category"
	tests := []struct {
		name   string
		faults []httpapi.FaultRule
		send   func(t *testing.T, srv *httptest.Server, store *sqlstore.Store)
		want   string // the line about the failure
	}{
		{"injected fault", []httpapi.FaultRule{{Path: path, Rate: 1, Errcode: -1}}, sendAndClose(false),
			`level=DEBUG msg="injected fault" .* errcode=-1`},
		{"client gone", []httpapi.FaultRule{{Path: path, Rate: 1, DelayMS: 60_000}}, sendAndClose(true),
			`level=DEBUG msg="request cancelled" .* err="context canceled"`},
		{"closed database", nil, func(t *testing.T, srv *httptest.Server, store *sqlstore.Store) {
			store.Close()
			sendAndClose(false)(t, srv, store)
		}, `level=ERROR msg="internal error" .* err=`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs, api, store := debugLoggedAPI(t, tc.faults)
			srv := httptest.NewServer(api)
			defer srv.Close()
			tc.send(t, srv, store)
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), `msg=http method=GET path=`+path); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no access line for the request:\n%s", logs.String())
				}
			}
			got := logs.String()
			if !regexp.MustCompile(tc.want).MatchString(got) {
				t.Errorf("log does not match %s:\n%s", tc.want, got)
			}
			if errorLevel := strings.Contains(got, "level=ERROR"); errorLevel != strings.Contains(tc.want, "level=ERROR") {
				t.Errorf("ERROR lines: %v, want %v:\n%s", errorLevel, !errorLevel, got)
			}
		})
	}
}

// sendAndClose writes one request on its own connection; with gone, it
// closes the connection without waiting for the answer, which cancels the
// request's context on the server (a request without a body: the server
// watches its connection at once).
func sendAndClose(gone bool) func(t *testing.T, srv *httptest.Server, _ *sqlstore.Store) {
	return func(t *testing.T, srv *httptest.Server, _ *sqlstore.Store) {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("GET /wxa/get_category?access_token=unknown HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if !gone {
			conn.Read(make([]byte, 4096)) // the answer
		}
	}
}

// TestAdminErrorLogLevels: the admin API logs a failure at ERROR, unless
// its client had already gone, as a WeChat call does. The store is closed,
// so the listing fails; a cancelled request context stands for the client
// that hung up (served in process: over a listener the server would not
// run the handler of a request whose connection is gone).
func TestAdminErrorLogLevels(t *testing.T) {
	for _, gone := range []bool{false, true} {
		logs, api, store := debugLoggedAPI(t, nil)
		store.Close()
		ctx, cancel := context.WithCancel(context.Background())
		if gone {
			cancel()
		}
		req := httptest.NewRequestWithContext(ctx, "GET", "/miniship/v1/events", nil)
		req.Header.Set("Authorization", "Bearer k")
		api.ServeHTTP(httptest.NewRecorder(), req)
		cancel()
		got := logs.String()
		if strings.Contains(got, "level=ERROR") == gone || strings.Contains(got, `msg="request cancelled"`) != gone {
			t.Errorf("client gone %v:\n%s", gone, got)
		}
	}
}

// debugLoggedAPI is a server on a fresh SQLite store (admin key "k") that
// logs at debug level into the returned buffer.
func debugLoggedAPI(t *testing.T, faults []httpapi.FaultRule) (*syncBuffer, *httpapi.Server, *sqlstore.Store) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := service.New(service.Options{Store: store, Logger: log})
	api, err := httpapi.New(httpapi.Options{Service: svc, AdminKey: "k", Logger: log, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	return logs, api, store
}
