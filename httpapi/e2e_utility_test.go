package httpapi_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
)

// TestComponentUtilities runs the component-level utilities over the wire:
// the authorizer list's pages, authorizer options in both path
// generations, quota counters read by openapi/quota/get and reset by
// clear_quota, getaccountbasicinfo and api_start_push_ticket.
func TestComponentUtilities(t *testing.T) { mstest.Backends(t, testComponentUtilities) }

func testComponentUtilities(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Limits: httpapi.Limits{
		Daily: map[string]int{"/wxa/get_category": 3},
	}}, nil)
	s := e.s
	ctoken := componentToken(t, s, e.p.AppID, e.p.Secret)
	C := url.Values{"component_access_token": {ctoken}}
	var apps []string
	apps = append(apps, e.mp.AppID)
	for range 4 {
		s.Advance(time.Second) // distinct authorization times
		a, _ := s.MiniProgram(t, e.p.AppID, nil)
		apps = append(apps, a.AppID)
	}

	// Pages in authorization order; no errcode on success.
	var seen []string
	for off := 0; off < 6; off += 2 {
		m := wx(t, s, "POST", "/cgi-bin/component/api_get_authorizer_list", C, fmt.Sprintf(`{"component_appid":%q,"offset":%d,"count":2}`, e.p.AppID, off))
		if _, has := m["errcode"]; has || arInt(t, m, "total_count") != 5 {
			t.Fatalf("api_get_authorizer_list: %v", m)
		}
		for _, it := range m["list"].([]any) {
			item := it.(map[string]any)
			if arStr(item, "refresh_token") == "" || arInt(t, item, "auth_time") == 0 {
				t.Fatalf("list item %v", item)
			}
			seen = append(seen, arStr(item, "authorizer_appid"))
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(apps) {
		t.Fatalf("pages list %v, want %v in authorization order", seen, apps)
	}

	// Options: the old form (component token, appids in the body), the new
	// form with either token.
	body := func(name, value string) string {
		return fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"option_name":%q,"option_value":%q}`, e.p.AppID, e.mp.AppID, name, value)
	}
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_set_authorizer_option", C, body("location_report", "2")), 0)
	m := wx(t, s, "POST", "/cgi-bin/component/api_get_authorizer_option", C, body("location_report", ""))
	if arStr(m, "option_value") != "2" || arStr(m, "authorizer_appid") != e.mp.AppID {
		t.Fatalf("api_get_authorizer_option: %v", m)
	}
	e.ok("POST", "/cgi-bin/component/set_authorizer_option", `{"option_name":"voice_recognize","option_value":"1"}`)
	m = wx(t, s, "POST", "/cgi-bin/component/get_authorizer_option", C, body("voice_recognize", ""))
	arWant(t, m, 0)
	if arStr(m, "option_value") != "1" {
		t.Fatalf("get_authorizer_option by component token: %v", m)
	}

	// Per-call quota: counted, read back, exhausted, reset.
	for range 3 {
		e.ok("GET", "/wxa/get_category", ``)
	}
	e.fails(45009, "GET", "/wxa/get_category", ``)
	m = e.ok("POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"/wxa/get_category"}`)
	if q := m["quota"].(map[string]any); arInt(t, q, "daily_limit") != 3 || arInt(t, q, "used") != 3 || arInt(t, q, "remain") != 0 {
		t.Fatalf("quota/get: %v", m)
	}
	e.ok("POST", "/cgi-bin/clear_quota", fmt.Sprintf(`{"appid":%q}`, e.mp.AppID))
	e.ok("GET", "/wxa/get_category", ``)
	m = e.ok("POST", "/cgi-bin/openapi/quota/get", `{"cgi_path":"/wxa/get_category"}`)
	if q := m["quota"].(map[string]any); arInt(t, q, "used") != 1 || arInt(t, q, "remain") != 2 {
		t.Fatalf("quota/get after clear_quota: %v", m)
	}
	// The platform's own reset, by AppSecret in the query (WxJava's form).
	arWant(t, wx(t, s, "POST", "/cgi-bin/clear_quota/v2", url.Values{"appid": {e.p.AppID}, "appsecret": {e.p.Secret}}, ``), 0)

	// getaccountbasicinfo by GET and POST; its head image is served.
	for _, method := range []string{"GET", "POST"} {
		m = e.ok(method, "/cgi-bin/account/getaccountbasicinfo", ``)
		if arStr(m, "appid") != e.mp.AppID || arInt(t, m, "account_type") != 3 {
			t.Fatalf("getaccountbasicinfo: %v", m)
		}
	}

	// api_start_push_ticket pushes a fresh ticket, with or without a token.
	before := s.Ticket(t, e.p.AppID)
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_start_push_ticket", nil, fmt.Sprintf(`{"component_appid":%q,"component_secret":%q}`, e.p.AppID, e.p.Secret)), 0)
	if s.Ticket(t, e.p.AppID) == before {
		t.Fatal("api_start_push_ticket issued no ticket")
	}
	arWant(t, wx(t, s, "POST", "/cgi-bin/component/api_start_push_ticket", C, fmt.Sprintf(`{"component_appid":%q,"component_secret":%q}`, e.p.AppID, e.p.Secret)), 0)
}

// BenchmarkAuthorizerList pages api_get_authorizer_list over the wire on a
// platform with 100,000 authorizers: first and last pages asked again and
// again (a page asked before starts from its remembered key), deep offsets
// asked once each (skipped in the index), and walks from offset 0 to the
// end page after page, as a client lists them (each page starts from where
// the previous one ended).
func BenchmarkAuthorizerList(b *testing.B) {
	s := mstest.New(b, mstest.Options{})
	p := s.Platform(b, nil)
	const n = 100000
	s.SeedApps(b, mstest.Seed{Apps: n, Platform: p.AppID})
	ctoken := componentTokenB(b, s, p.AppID, p.Secret)
	q := url.Values{"component_access_token": {ctoken}}
	// The floor: the same call for a platform with one authorizer, in the
	// same run, so the numbers read as ratios on a loaded machine. For
	// pages of 500 the first page is the floor: it skips nothing.
	small := s.Platform(b, nil)
	s.MiniProgram(b, small.AppID, nil)
	qs := url.Values{"component_access_token": {componentTokenB(b, s, small.AppID, small.Secret)}}
	b.Run("floor=1 authorizer", func(b *testing.B) {
		body := fmt.Sprintf(`{"component_appid":%q,"offset":0,"count":10}`, small.AppID)
		for b.Loop() {
			rawCallB(b, s, "POST", "/cgi-bin/component/api_get_authorizer_list", qs, body)
		}
	})
	page := func(b *testing.B, off, count int) {
		body := fmt.Sprintf(`{"component_appid":%q,"offset":%d,"count":%d}`, p.AppID, off, count)
		m := rawCallB(b, s, "POST", "/cgi-bin/component/api_get_authorizer_list", q, body)
		if l, _ := m["list"].([]any); len(l) != count || m["total_count"] != float64(n) {
			b.Fatalf("page of %d, total %v", len(l), m["total_count"])
		}
	}
	for _, c := range []struct{ off, count int }{{0, 10}, {n - 10, 10}, {0, 500}, {n - 500, 500}} {
		b.Run(fmt.Sprintf("offset=%d/count=%d", c.off, c.count), func(b *testing.B) {
			for b.Loop() {
				page(b, c.off, c.count)
			}
		})
	}
	// A deep offset asked for the first time still skips in the index.
	b.Run("cold offset=99,990-k/count=10", func(b *testing.B) {
		k := 0
		for b.Loop() {
			page(b, n-10-k%50000, 10)
			k++
		}
	})
	for _, count := range []int{10, 500} {
		b.Run(fmt.Sprintf("walk/count=%d", count), func(b *testing.B) {
			off := 0
			for b.Loop() {
				page(b, off, count)
				off = (off + count) % n
			}
		})
	}
}
