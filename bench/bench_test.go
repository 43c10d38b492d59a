package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/sqlstore"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, c := range []struct {
		lat  []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.75, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.999, 4 * time.Millisecond},
		{ms(hundred...), 0.99, 99 * time.Millisecond},
		{ms(hundred...), 0.999, 100 * time.Millisecond},
	} {
		if got := percentile(c.lat, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.lat, c.p, got, c.want)
		}
	}
}

// TestRunAgainstServer runs every scenario, closed and open loop, against a
// real server on the wall clock (a 1 ns privacy scan, as the temporary
// server of `miniship bench` has) and checks that each did real work with
// no error, and that the costs are relative to the round's no-op.
func TestRunAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of load")
	}
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := service.New(service.Options{Store: store, Config: service.Config{ScanDuration: time.Nanosecond}})
	api, err := httpapi.New(httpapi.Options{Service: svc, AdminKey: "bench-key"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	rs, err := Run(ctx, Config{BaseURL: srv.URL, AdminKey: "bench-key", Concurrency: 3, Duration: 200 * time.Millisecond, ServerPID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(Scenarios) {
		t.Fatalf("%d results, want one per scenario (%d)", len(rs), len(Scenarios))
	}
	for i, r := range rs {
		if r.Scenario != Scenarios[i] || r.Ops == 0 || r.Errors != 0 || r.PerSec <= 0 || r.Cost <= 0 {
			t.Errorf("%+v", r)
		}
		if !(r.P50 <= r.P99 && r.P99 <= r.P999 && r.P50 > 0) {
			t.Errorf("%s: percentiles out of order: %v %v %v", r.Scenario, r.P50, r.P99, r.P999)
		}
	}
	if rs[0].Cost != 1 {
		t.Errorf("the no-op costs %v no-ops", rs[0].Cost)
	}

	rs, err = Run(ctx, Config{BaseURL: srv.URL, AdminKey: "bench-key", Concurrency: 2, Rate: 100, Duration: time.Second,
		Warmup: 50 * time.Millisecond, Scenarios: []string{"read", "commit"}})
	if err != nil {
		t.Fatal(err)
	}
	// The pacer sends at most rate × duration requests (101 with the one
	// at time zero), and every one sent is answered before Run returns. At
	// least 20 come unless the pacer stalls for 0.8 s: an attacker reused
	// after the warm-up sent one or two.
	for _, r := range rs {
		if r.Ops < 20 || r.Ops > 101 || r.Errors != 0 {
			t.Errorf("open loop at 100/s for 1 s after a warm-up: %+v", r)
		}
	}
	if _, err := Run(ctx, Config{BaseURL: srv.URL, AdminKey: "bench-key", Rate: 10, Scenarios: []string{"life"}}); err == nil {
		t.Error("life in the open loop was accepted")
	}

	// One client and its 8 pacer workers cannot send a million a second
	// over HTTP: the row says the rate was not reached.
	rs, err = Run(ctx, Config{BaseURL: srv.URL, AdminKey: "bench-key", Concurrency: 1, Rate: 1_000_000, Duration: 100 * time.Millisecond,
		Scenarios: []string{"noop"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := rs[0].Warning; !strings.Contains(w, "of the 1000000/s asked") {
		t.Errorf("open loop far under its rate: warning %q", w)
	}
}

// TestValidate: what Run cannot do as asked is refused before anything
// runs; zero values take the defaults.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // "" when valid
	}{
		{Config{}, ""},
		{Config{Rate: 100}, ""},
		{Config{Rate: 100, Scenarios: []string{"read", "commit"}}, ""},
		{Config{Concurrency: -1}, "concurrency -1"},
		{Config{Rate: -5}, "rate -5"},
		{Config{Duration: -time.Second}, "duration -1s"},
		{Config{Warmup: -time.Second}, "warm-up -1s"},
		{Config{Rounds: -1}, "rounds -1"},
		{Config{Apps: -1}, "apps -1"},
		{Config{Apps: 5}, "apps 5: want 0 (one per client) or at least the 32 clients"},
		{Config{Concurrency: 4, Apps: 4}, ""},
		{Config{Rate: MaxRate + 1}, "rate 1000001"},
		{Config{Scenarios: []string{"read", "bogus"}}, `unknown scenario "bogus"`},
		{Config{Rate: 10, Scenarios: []string{"life"}}, "scenario life is a sequence"},
		{Config{Rate: 10, Scenarios: []string{"submit_audit"}}, "scenario submit_audit is a sequence"},
	} {
		err := tc.cfg.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestClosedRateCountsFailures: the closed loop's rate is of successes over
// all the time its clients spent, failed calls included. Before, failures'
// time was left out, and a scenario half of whose calls failed showed
// twice its rate and half its cost.
func TestClosedRateCountsFailures(t *testing.T) {
	var calls atomic.Int64
	fail := errors.New("injected")
	o := func(context.Context, int) (time.Duration, error) {
		if calls.Add(1)%2 == 0 {
			return time.Millisecond, fail
		}
		return time.Millisecond, nil
	}
	r := &runner{cfg: Config{Concurrency: 2, Duration: 20 * time.Millisecond}}
	res, err := r.closed(context.Background(), "read", o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops == 0 || res.Errors == 0 {
		t.Fatalf("%+v", res)
	}
	// Every call "took" 1 ms: two clients complete 2,000 calls a second,
	// of which Ops/(Ops+Errors) succeed.
	want := 2000 * float64(res.Ops) / float64(res.Ops+res.Errors)
	if math.Abs(res.PerSec-want) > 1e-6*want {
		t.Errorf("%d ops, %d errors: %.1f/s, want %.1f/s", res.Ops, res.Errors, res.PerSec, want)
	}
}

// TestOpenCostUnknown: the open loop divides server CPU, read from /proc
// in 10 ms ticks; without enough of it the CPU per operation and the cost
// are unknown (0, printed "-") rather than ratios of two or three ticks.
func TestOpenCostUnknown(t *testing.T) {
	row := func(server time.Duration) *Result {
		r := &Result{Ops: 100, PerSec: 100}
		r.perOp(server, time.Second)
		return r
	}
	for _, tc := range []struct {
		noop, r *Result
		want    float64
	}{
		{row(time.Second), row(2500 * time.Millisecond), 2.5},
		{row(0), row(0), 0}, // no pid
		{row(30 * time.Millisecond), row(time.Second), 0}, // three ticks
		{row(time.Second), row(100 * time.Millisecond), 0},
	} {
		if got := cost(tc.noop, tc.r, true); got != tc.want {
			t.Errorf("noop %+v, row %+v: cost %v, want %v", *tc.noop, *tc.r, got, tc.want)
		}
	}
	if r := row(30 * time.Millisecond); r.CPUPerOp != 0 || r.ClientCPUPerOp != 10*time.Millisecond {
		t.Errorf("three ticks of server CPU over 100 calls: %v a call (want unknown), bench %v", r.CPUPerOp, r.ClientCPUPerOp)
	}
	var b strings.Builder
	WriteTable(&b, []Result{{Round: 1, Scenario: "noop", Ops: 1, Cost: 1}, {Round: 1, Scenario: "read", Ops: 1}})
	if !strings.Contains(b.String(), "cost -: the open loop divides server CPU") {
		t.Errorf("table without the unknown cost's note:\n%s", b.String())
	}
}

// TestSeedFleet: a fleet lands in the database the temporary server will
// open, granted to its own platform, each mini program with a version and
// an approved audit; a database that already holds one is refused.
func TestSeedFleet(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "miniship.db")
	var progress strings.Builder
	if err := seedFleet(ctx, dsn, 25, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "25 of 25 mini programs seeded") {
		t.Errorf("progress %q", progress.String())
	}
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	err = store.View(ctx, func(tx miniship.Tx) error {
		grants, err := tx.ListAuthorizations(FleetPlatform)
		if err != nil || len(grants) != 25 {
			return fmt.Errorf("%d grants, err %v; want 25", len(grants), err)
		}
		a, err := tx.LatestAudit("wxbench00000024")
		if err != nil || a.Status != miniship.AuditApproved {
			return fmt.Errorf("last mini program's audit %+v, err %v", a, err)
		}
		return nil
	})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := seedFleet(ctx, dsn, 25, nil); err == nil || !strings.Contains(err.Error(), "already holds a fleet") {
		t.Errorf("second fleet in the same database: %v", err)
	}
	if err := seedFleet(ctx, filepath.Join(t.TempDir(), "big.db"), MaxFleet+1, nil); err == nil {
		t.Error("a fleet past eight-digit appids was accepted")
	}
}

// TestCommitBody: the appended commit body is the JSON the map used to
// marshal to.
func TestCommitBody(t *testing.T) {
	r := &runner{f: &fixture{templateID: 42, apps: []string{"wxa\"b"}}}
	var got map[string]any
	if err := json.Unmarshal(r.commitBody(0, 7), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"template_id": 42.0, "user_version": "1.0.7", "user_desc": "bench",
		"ext_json": `{"extAppid":"wxa"b","ext":{"n":7},"requiredPrivateInfos":["getLocation"]}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestCheckWX(t *testing.T) {
	var out struct {
		AuditID int64 `json:"auditid"`
	}
	for _, c := range []struct {
		raw  string
		out  any
		code int // 0: no error; -1: some other error
	}{
		{`{"errcode":0,"errmsg":"ok"}`, nil, 0},
		{`{"errcode":0,"errmsg":"ok","auditid":5}`, &out, 0},
		{`{"errcode":85009,"errmsg":"already auditing rid: x"}`, nil, 85009},
		{`{"errmsg":"ok","errcode":40001}`, nil, 40001},
		{`<html>`, nil, -1},
	} {
		err := checkWX([]byte(c.raw), c.out)
		var wx *wxError
		switch {
		case c.code == 0 && err != nil, c.code == -1 && (err == nil || errors.As(err, &wx)):
			t.Errorf("%s: %v", c.raw, err)
		case c.code > 0 && (!errors.As(err, &wx) || wx.Code != c.code):
			t.Errorf("%s: %v, want errcode %d", c.raw, err, c.code)
		}
	}
	if out.AuditID != 5 {
		t.Errorf("decoded auditid %d", out.AuditID)
	}
}

func TestMedians(t *testing.T) {
	rs := []Result{
		{Round: 1, Scenario: "noop", Cost: 1}, {Round: 1, Scenario: "read", Cost: 2.5}, {Round: 1, Scenario: "commit", Cost: 4},
		{Round: 2, Scenario: "noop", Cost: 1}, {Round: 2, Scenario: "read", Cost: 1.5}, {Round: 2, Scenario: "commit", Cost: 3},
		{Round: 3, Scenario: "noop", Cost: 1}, {Round: 3, Scenario: "read", Cost: 1.7}, {Round: 3, Scenario: "commit", Cost: 3.5},
		{Round: 4, Scenario: "noop", Cost: 1}, {Round: 4, Scenario: "read", Cost: 9}, {Round: 4, Scenario: "commit", Cost: 2},
		{Round: 5, Scenario: "noop", Cost: 1}, {Round: 5, Scenario: "read", Cost: 0}, // not measured
	}
	want := []ScenarioCost{{"read", 2.1, 4}, {"commit", 3.25, 4}}
	got := Medians(rs)
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i].Scenario != want[i].Scenario || got[i].Rounds != want[i].Rounds || math.Abs(got[i].Cost-want[i].Cost) > 1e-9 {
			t.Errorf("%v, want %v", got, want)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "median cost in no-ops: read 2.10 (4 rounds), commit 3.25 (4 rounds)") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestRateWarning: the warning compares what the pacer sent with what the
// rate asks over the window, whatever the answers took after it.
func TestRateWarning(t *testing.T) {
	for _, tc := range []struct {
		sent, rate int
		d          time.Duration
		warn       bool
	}{
		{20, 20, time.Second, false}, // all sent on time, however late the last answer
		{19, 20, time.Second, false},
		{17, 20, time.Second, true},
		{12563, 100000, time.Second, true},
		{1001, 100, 10 * time.Second, false},
	} {
		if w := rateWarning(tc.sent, tc.rate, tc.d, 16); (w != "") != tc.warn {
			t.Errorf("%d sent at %d/s over %s: warning %q", tc.sent, tc.rate, tc.d, w)
		}
	}
}
