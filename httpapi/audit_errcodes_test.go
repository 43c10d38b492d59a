package httpapi_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// A PNG signature and an MP4 ftyp box: what uploadmedia sniffs.
var (
	arPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 64)...)
	arMP4 = append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"), bytes.Repeat([]byte{0}, 64)...)
)

// TestSubmitAuditErrcodes checks each refusal of submit_audit, in the
// documented order, and that none of them stores an audit or spends quota.
func TestSubmitAuditErrcodes(t *testing.T) { mstest.Backends(t, testSubmitAuditErrcodes) }

func testSubmitAuditErrcodes(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, &miniship.Platform{AuditQuota: 3})
	e.commit("1.0.0", "")
	e.scanned()
	pic := arStr(e.upload("media", arPNG), "mediaid")
	vid := arStr(e.upload("media", arMP4), "mediaid")

	item := func(fields string) string { // arItem with fields replaced
		return `{"item_list":[{"address":"pages/index/index","first_class":"工具","second_class":"效率","first_id":287,"second_id":612` + fields + `}]}`
	}
	long := func(n int) string { return strings.Repeat("长", n) }
	cases := []struct {
		name string
		code int
		body string
	}{
		{"empty body", 44002, ``},
		{"malformed", 47001, `{"item_list":`},
		{"null", 47001, `null`},
		{"array", 47001, `[]`},
		{"number", 47001, `5`},
		{"string", 47001, `"x"`},
		{"wrong type", 47001, `{"item_list":"index"}`},
		{"no items", 85023, `{"item_list":[]}`},
		{"six items", 85023, `{"item_list":[` + strings.Repeat(arItem+",", 5) + arItem + `]}`},
		{"empty item", 85010, `{"item_list":[` + arItem + `,{}]}`},
		{"title 33", 85011, item(`,"title":"` + long(33) + `"`)},
		{"11 tags", 85006, item(`,"tag":"a b c d e f g h i j k"`)},
		{"tag of 21", 85006, item(`,"tag":"` + long(21) + `"`)},
		{"no category", 85008, `{"item_list":[{"address":"pages/index/index","title":"首页"}]}`},
		{"version_desc", 85051, `{"version_desc":"` + long(501) + `"}`},
		{"feedback_info", 85051, `{"feedback_info":"` + long(201) + `"}`},
		{"preview too many", 85093, `{"preview_info":{"pic_id_list":["a","b","c","d","e","f"]}}`},
		{"feedback too many", 40097, `{"feedback_stuff":"a|b|c|d|e|f"}`},
		{"ugc scene", 40097, `{"ugc_declare":{"scene":[0,2]}}`},
		{"ugc method", 40097, `{"ugc_declare":{"scene":[2],"method":[9]}}`},
		{"not a page", 85007, item(`,"address":"pages/missing/missing"`)},
		{"order_path", 85007, `{"order_path":"pages/order/order"}`},
		{"foreign category", 85008, `{"item_list":[{"address":"pages/index/index","first_class":"教育","second_class":"学历教育","first_id":3,"second_id":4}]}`},
		{"category id mismatch", 85008, item(`,"third_id":9`)},
		{"unknown preview", 85092, `{"preview_info":{"pic_id_list":["nope"]}}`},
		{"video as picture", 85092, `{"preview_info":{"pic_id_list":["` + vid + `"]}}`},
		{"unknown feedback", 40007, `{"feedback_stuff":"` + pic + `|nope"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.fails(c.code, "POST", "/wxa/submit_audit", c.body)
		})
	}
	e.t = t
	e.fails(85012, "GET", "/wxa/get_latest_auditstatus", "")
	if q := e.ok("GET", "/wxa/queryquota", ""); arInt(t, q, "rest") != 3 {
		t.Fatalf("refused submissions spent quota: %v", q)
	}

	// Every field at once, valid: accepted; ids as strings, as SKIT sends.
	full := `{"item_list":[{"address":"/pages/store/store?from=audit","tag":"门店 位置","first_class":"工具","second_class":"效率",
		"first_id":"287","second_id":"612","title":"门店"},` + arItem + `],
		"feedback_info":"已修复","feedback_stuff":"` + pic + `","version_desc":"新版本",
		"preview_info":{"pic_id_list":["` + pic + `"],"video_id_list":["` + vid + `"]},
		"ugc_declare":{"scene":[0]},"privacy_api_not_use":false,"order_path":"shop/cart/cart"}`
	id := arInt(t, e.ok("POST", "/wxa/submit_audit", full), "auditid")
	st, a := e.admin("GET", fmt.Sprintf("/miniship/v1/audits/%d", id), nil)
	if st != 200 || !strings.Contains(fmt.Sprint(a["request"]), "已修复") || arStr(a["version"].(map[string]any), "user_version") != "1.0.0" {
		t.Fatalf("the reviewer's view: %d %v", st, a)
	}
	if q := e.ok("GET", "/wxa/queryquota", ""); arInt(t, q, "rest") != 2 || arInt(t, q, "limit") != 3 {
		t.Fatalf("quota after one submission: %v", q)
	}
}

// TestSubmitAuditState checks the refusals that depend on state: 9402202,
// 86002, 85086, 85009, 61039, 61040, 85094 (first submission only), and
// the platform's monthly quota 85085 shared by its mini programs.
func TestSubmitAuditState(t *testing.T) { mstest.Backends(t, testSubmitAuditState) }

func testSubmitAuditState(t *testing.T, database string) {
	gate := &mstest.BuildGate{}
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{CommitBuild: gate.Build, TokenTTL: arLongTTL}}, &miniship.Platform{AuditQuota: 3})

	e.fails(85086, "POST", "/wxa/submit_audit", `{}`)
	inc := arMiniProgram()
	inc.ProfileComplete = false
	_, incTok := e.addMiniProgram(inc)
	e.fails(86002, "POST", "/wxa/submit_audit", `{}`, incTok)

	// A submission while a commit is building: 9402202. The gate holds the
	// build until the submission has been answered.
	gate.Hold()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.commit("1.0.0", "") }()
	<-gate.Waiting()
	e.fails(9402202, "POST", "/wxa/submit_audit", `{}`)
	gate.Release()
	wg.Wait()

	e.fails(61039, "POST", "/wxa/submit_audit", `{}`)
	e.s.Advance(e.s.Service.Config().ScanDuration - time.Second)
	e.fails(61039, "POST", "/wxa/submit_audit", `{}`)
	e.s.Advance(time.Second)

	// Privacy: a mini program without the getLocation grant the template
	// uses gets 61040, unless it declares the API unused.
	noGrant := arMiniProgram()
	noGrant.PrivacyAPIs = nil
	_, ngTok := e.addMiniProgram(noGrant)
	e.commit("1.0.0", `{"requiredPrivateInfos":[]}`, ngTok)
	e.scanned()
	m := e.fails(61040, "POST", "/wxa/submit_audit", `{}`, ngTok)
	if !strings.Contains(arStr(m, "errmsg"), "wx.getLocation") {
		t.Fatalf("61040 does not name the API: %v", m)
	}
	ng := arInt(t, e.ok("POST", "/wxa/submit_audit", `{"privacy_api_not_use":true}`, ngTok), "auditid")

	// No item_list is allowed (the current docs); one audit in review at a time.
	a := arInt(t, e.ok("POST", "/wxa/submit_audit", `{}`), "auditid")
	m = e.fails(85009, "POST", "/wxa/submit_audit", `{}`)
	if !strings.Contains(arStr(m, "errmsg"), fmt.Sprint(a)) {
		t.Fatalf("85009 does not name the audit: %v", m)
	}

	// Quota 3 is shared: ng + a used 2; the social mini program takes the last.
	social := arMiniProgram()
	social.Categories = []miniship.Category{{FirstClass: "社交", SecondClass: "社区/论坛", FirstID: 5, SecondID: 50}}
	_, soTok := e.addMiniProgram(social)
	e.commit("1.0.0", "", soTok)
	e.scanned()
	e.fails(85094, "POST", "/wxa/submit_audit", `{}`, soTok)
	e.fails(85094, "POST", "/wxa/submit_audit", `{"item_list":[{"first_id":5,"second_id":50}],"ugc_declare":{"scene":[]}}`, soTok)
	so := arInt(t, e.ok("POST", "/wxa/submit_audit", `{"item_list":[{"first_id":5,"second_id":50}],"ugc_declare":{"scene":[2,4],"method":[1,3],"has_audit_team":1}}`, soTok), "auditid")
	q := e.ok("POST", "/wxa/queryquota", "", ngTok) // any of the platform's mini programs reads it
	if arInt(t, q, "rest") != 0 || arInt(t, q, "limit") != 3 {
		t.Fatalf("quota: %v", q)
	}
	e.decide(so, "reject", "", "")
	e.decide(ng, "approve", "", "")
	// The quota is spent: 85085, and nothing is stored.
	e.fails(85085, "POST", "/wxa/submit_audit", `{"item_list":[{"first_id":5,"second_id":50}]}`, soTok)
	e.wantStatus(so, 1, soTok)
	if latest := e.ok("GET", "/wxa/get_latest_auditstatus", "", soTok); arInt(t, latest, "auditid") != so {
		t.Fatalf("a refused submission replaced the latest audit: %v", latest)
	}

	// Next month (UTC+8) the quota is back; the UGC declaration is
	// remembered from the first submission.
	now := e.s.Clock.Now()
	cst := time.FixedZone("CST", 8*3600)
	next := time.Date(now.In(cst).Year(), now.In(cst).Month()+1, 1, 0, 0, 0, 0, cst)
	e.s.Advance(next.Sub(now) - time.Second)
	e.fails(85085, "POST", "/wxa/submit_audit", `{}`, soTok)
	e.s.Advance(time.Second)
	if q := e.ok("GET", "/wxa/queryquota", ""); arInt(t, q, "rest") != 3 {
		t.Fatalf("quota in the new month: %v", q)
	}
	e.ok("POST", "/wxa/submit_audit", `{"item_list":[{"first_id":5,"second_id":50}]}`, soTok)
}

// TestAuditStatusErrcodes covers get_auditstatus and get_latest_auditstatus.
func TestAuditStatusErrcodes(t *testing.T) { mstest.Backends(t, testAuditStatusErrcodes) }

func testAuditStatusErrcodes(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	e.fails(86001, "POST", "/wxa/get_auditstatus", `{"auditid":1}`)
	e.fails(86001, "GET", "/wxa/get_latest_auditstatus", "")
	e.commit("1.0.0", "")
	e.scanned()
	e.fails(85012, "GET", "/wxa/get_latest_auditstatus", "")
	e.fails(85012, "POST", "/wxa/get_auditstatus", `{"auditid":1}`)
	e.fails(85012, "POST", "/wxa/get_auditstatus", `{}`)
	e.fails(47001, "POST", "/wxa/get_auditstatus", `{"auditid":"x"}`)
	e.fails(44002, "POST", "/wxa/get_auditstatus", ``)
	id := e.submit()
	m := e.ok("POST", "/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":"%d"}`, id)) // SKIT sends a string
	for _, k := range []string{"status", "reason", "screenshot", "ScreenShot"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("get_auditstatus lacks %s: %v", k, m)
		}
	}
	// Another mini program cannot read this audit.
	_, other := e.addMiniProgram(arMiniProgram())
	e.commit("1.0.0", "", other)
	e.fails(85012, "POST", "/wxa/get_auditstatus", fmt.Sprintf(`{"auditid":%d}`, id), other)
	e.fails(85012, "POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, id), other)
	// Senparc POSTs get_latest_auditstatus.
	if l := e.ok("POST", "/wxa/get_latest_auditstatus", `{}`); arInt(t, l, "auditid") != id {
		t.Fatalf("latest: %v", l)
	}
}

// TestUndoQuota checks undocodeaudit's 5 a day and 10 a month, with days
// and months in UTC+8: the server clock starts at 18:00 CST, so 6 hours
// later it is a new day in China and still the same day in UTC.
func TestUndoQuota(t *testing.T) { mstest.Backends(t, testUndoQuota) }

func testUndoQuota(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{TokenTTL: arLongTTL}}, &miniship.Platform{AuditQuota: 100})
	e.commit("1.0.0", "")
	e.scanned()
	undo := func(n int) {
		t.Helper()
		for range n {
			e.submit()
			e.ok("GET", "/wxa/undocodeaudit", "")
		}
	}
	e.fails(87012, "GET", "/wxa/undocodeaudit", "") // nothing to withdraw costs nothing
	undo(5)
	id := e.submit()
	e.fails(87013, "GET", "/wxa/undocodeaudit", "")
	e.wantStatus(id, 2) // the refused undo left the audit in review

	e.s.Advance(6*time.Hour + time.Minute) // 00:01 CST next day; still the same UTC day
	if d := e.s.Clock.Now().UTC().Day(); d != 5 {
		t.Fatalf("test assumes the same UTC day, got %d", d)
	}
	e.ok("POST", "/wxa/undocodeaudit", "") // WxJava-style GET and POST both work
	e.wantStatus(id, 3)
	undo(4) // 10 this month
	e.s.Advance(24 * time.Hour)
	e.submit()
	e.fails(87013, "GET", "/wxa/undocodeaudit", "")

	// 1 February 00:00 CST is 31 January 16:00 UTC.
	now := e.s.Clock.Now()
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	e.s.Advance(feb.Sub(now) - time.Second)
	e.fails(87013, "GET", "/wxa/undocodeaudit", "")
	e.s.Advance(time.Second)
	if e.s.Clock.Now().UTC().Month() != time.January {
		t.Fatal("test assumes it is still January in UTC")
	}
	e.ok("GET", "/wxa/undocodeaudit", "")
}

// TestSpeedup checks speedupaudit's errcodes and the shared monthly
// speed-up quota read through queryquota.
func TestSpeedup(t *testing.T) { mstest.Backends(t, testSpeedup) }

func testSpeedup(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{NoSpeedupClasses: []string{"游戏"}}}, &miniship.Platform{AuditQuota: 10, SpeedupQuota: 1})
	e.commit("1.0.0", "")
	e.scanned()
	_, tokB := e.addMiniProgram(arMiniProgram())
	e.commit("1.0.0", "", tokB)
	game := arMiniProgram()
	game.Categories = []miniship.Category{{FirstClass: "游戏", SecondClass: "休闲", FirstID: 8, SecondID: 80}}
	_, tokG := e.addMiniProgram(game)
	e.commit("1.0.0", "", tokG)
	e.scanned()

	e.fails(85012, "POST", "/wxa/speedupaudit", `{"auditid":424242}`)
	e.fails(44002, "POST", "/wxa/speedupaudit", ``)
	g := arInt(t, e.ok("POST", "/wxa/submit_audit", `{}`, tokG), "auditid")
	e.fails(89403, "POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, g), tokG)

	a := e.submit()
	b := e.submit(tokB)
	e.ok("POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":"%d"}`, a))
	e.fails(89404, "POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, a))
	q := e.ok("GET", "/wxa/queryquota", "", tokB)
	if arInt(t, q, "speedup_rest") != 0 || arInt(t, q, "speedup_limit") != 1 || arInt(t, q, "rest") != 7 {
		t.Fatalf("quota: %v", q)
	}
	e.fails(89405, "POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, b), tokB)
	// 89401 (system unstable) exists only as an injected fault.
	rule := map[string]any{"rules": []map[string]any{{"path": "/wxa/speedupaudit", "rate": 1, "errcode": 89401}}}
	if st, m := e.admin("PUT", "/miniship/v1/faults", rule); st != 200 {
		t.Fatalf("faults: %d %v", st, m)
	}
	e.fails(89401, "POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, b), tokB)
	e.admin("PUT", "/miniship/v1/faults", map[string]any{"rules": []any{}})
	e.decide(b, "approve", "", "")
	e.fails(89402, "POST", "/wxa/speedupaudit", fmt.Sprintf(`{"auditid":%d}`, b), tokB)
	st, m := e.admin("GET", fmt.Sprintf("/miniship/v1/audits/%d", a), nil)
	if st != 200 || m["sped_up"] != true {
		t.Fatalf("audit %d: %v", a, m)
	}
}

// TestUploadMedia covers uploadmedia and the lifetime of its mediaids in
// submit_audit.
func TestUploadMedia(t *testing.T) { mstest.Backends(t, testUploadMedia) }

func testUploadMedia(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database, Config: service.Config{TokenTTL: arLongTTL}}, nil)
	e.commit("1.0.0", "")
	e.scanned()
	m := e.upload("media", arPNG)
	arWant(t, m, 0)
	if arStr(m, "type") != "image" || len(arStr(m, "mediaid")) < 32 {
		t.Fatalf("png: %v", m)
	}
	pic, uploaded := arStr(m, "mediaid"), e.s.Clock.Now()
	if m := e.upload("media", arMP4); arStr(m, "type") != "video" {
		t.Fatalf("mp4: %v", m)
	}
	gif := e.upload("media", []byte("GIF89a\x01\x00\x01\x00"))
	if arStr(gif, "type") != "image" {
		t.Fatalf("gif: %v", gif)
	}
	arWant(t, e.upload("media", []byte("just text")), 40004)
	arWant(t, e.upload("media", nil), 41005)
	arWant(t, e.upload("file", arPNG), 41005)
	big := append(bytes.Clone(arPNG), make([]byte, service.MaxImageSize)...)
	arWant(t, e.upload("media", big), 40006)
	bigVideo := append(bytes.Clone(arMP4), make([]byte, service.MaxVideoSize)...)
	arWant(t, e.upload("media", bigVideo), 40006)
	e.fails(41005, "POST", "/wxa/uploadmedia", `{"media":"x"}`)

	// Another mini program cannot use this mini program's media.
	_, other := e.addMiniProgram(arMiniProgram())
	e.commit("1.0.0", "", other)
	e.scanned()
	e.fails(85092, "POST", "/wxa/submit_audit", `{"preview_info":{"pic_id_list":["`+pic+`"]}}`, other)

	// A mediaid lives 3 days on the server clock.
	e.s.Advance(uploaded.Add(72*time.Hour - time.Second).Sub(e.s.Clock.Now()))
	id := arInt(t, e.ok("POST", "/wxa/submit_audit", `{"preview_info":{"pic_id_list":["`+pic+`"]}}`), "auditid")
	e.ok("GET", "/wxa/undocodeaudit", "")
	e.s.Advance(time.Second)
	e.fails(85092, "POST", "/wxa/submit_audit", `{"preview_info":{"pic_id_list":["`+pic+`"]}}`)
	e.fails(40007, "POST", "/wxa/submit_audit", `{"feedback_stuff":"`+pic+`"}`)
	e.wantStatus(id, 3)
}

// TestCallQuotas checks the optional per-call limits on the audit
// endpoints: 45009 past a daily count, reset at midnight UTC+8, and 45011
// past a per-minute count. A refused call does not count.
func TestCallQuotas(t *testing.T) {
	e := arSetup(t, mstest.Options{Config: service.Config{TokenTTL: arLongTTL}, Limits: httpapi.Limits{
		Daily:     map[string]int{"/wxa/get_latest_auditstatus": 2},
		PerMinute: map[string]int{"/wxa/queryquota": 2},
	}}, nil)
	e.commit("1.0.0", "")
	e.scanned()
	id := e.submit()
	e.ok("GET", "/wxa/get_latest_auditstatus", "")
	e.ok("GET", "/wxa/get_latest_auditstatus", "")
	e.fails(45009, "GET", "/wxa/get_latest_auditstatus", "")
	e.status(id) // other paths are not limited
	// The clock starts at 18:00 CST: midnight in China is 6 hours away.
	e.s.Advance(6*time.Hour - time.Minute)
	e.fails(45009, "GET", "/wxa/get_latest_auditstatus", "")
	e.s.Advance(time.Minute)
	e.ok("GET", "/wxa/get_latest_auditstatus", "")

	e.ok("GET", "/wxa/queryquota", "")
	e.ok("GET", "/wxa/queryquota", "")
	e.fails(45011, "GET", "/wxa/queryquota", "")
	e.s.Advance(time.Minute)
	e.ok("GET", "/wxa/queryquota", "")
}
