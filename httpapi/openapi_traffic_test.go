package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
)

// validating is an http.RoundTripper that checks every request and answer
// against the OpenAPI document, so the document cannot drift from what the
// server does.
type validating struct {
	t       testing.TB
	router  routers.Router
	mu      sync.Mutex
	checked map[string]int // "METHOD path status" → count
}

func newValidating(t testing.TB, serverURL string) *validating {
	t.Helper()
	b, err := httpapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validating{t: t, router: r, checked: map[string]int{}}
}

func init() {
	for _, ct := range []string{"application/zip", "image/jpeg"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	check := req.Clone(req.Context())
	if len(body) > 0 && check.Header.Get("Content-Type") == "" {
		// The server reads a JSON body whatever the Content-Type says (curl
		// -d sends a form type); the document names the body's real type.
		check.Header.Set("Content-Type", "application/json")
	}
	check.Body = io.NopCloser(bytes.NewReader(body))
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := v.router.FindRoute(check)
	if err != nil {
		v.t.Errorf("openapi: %s %s: no operation: %v", req.Method, req.URL.Path, err)
		return http.DefaultTransport.RoundTrip(req)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		v.t.Errorf("openapi: request %s %s %s: %v", req.Method, req.URL.Path, body, err)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(rb))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(rb)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("openapi: answer to %s %s (HTTP %d) %.300s: %v", req.Method, req.URL.Path, res.StatusCode, rb, err)
	}
	v.mu.Lock()
	v.checked[fmt.Sprintf("%s %s %d", req.Method, route.Path, res.StatusCode)]++
	v.mu.Unlock()
	return res, nil
}

// TestOpenAPIValidatesTraffic runs the life of a mini program through the
// WeChat and admin APIs, successes and errors, with every request and
// answer checked against the document.
func TestOpenAPIValidatesTraffic(t *testing.T) {
	rcv := newArReceiver(t)
	s := mstest.New(t, mstest.Options{})
	v := newValidating(t, s.URL)
	e := &arEnv{t: t, s: s, hc: &http.Client{Timeout: 30 * time.Second, Transport: v}}
	e.p = s.Platform(t, nil)
	e.tpl = s.Template(t, e.p.AppID, nil, 0)
	e.mp, e.tok = e.addMiniProgram(arMiniProgram())
	rcv.p = e.p

	e.admin("GET", "/miniship/v1/platforms/"+e.p.AppID, nil)
	e.admin("GET", "/miniship/v1/authorizers/"+e.mp.AppID, nil)
	e.admin("GET", "/miniship/v1/platforms/"+e.p.AppID+"/ticket", nil)
	e.admin("GET", "/miniship/v1/clock", nil)
	e.admin("POST", "/miniship/v1/clock/advance", map[string]any{"seconds": 1})
	e.admin("GET", "/miniship/v1/faults", nil)
	e.admin("GET", "/miniship/v1/limits", nil)
	e.admin("GET", "/miniship/v1/authorizers/wxnobody", nil) // 404
	e.admin("GET", "/miniship/v1/openapi.json", nil)

	e.fails(40001, "GET", "/wxa/get_page", "", "bad-token")
	e.commit("1.0.0", "")
	e.ok("GET", "/wxa/get_page", "")
	e.ok("GET", "/wxa/get_category", "")
	e.fails(61039, "GET", "/wxa/security/get_code_privacy_info", "")
	e.scanned()
	e.ok("GET", "/wxa/security/get_code_privacy_info", "")
	e.ok("POST", "/wxa/getversioninfo", `{}`)
	e.ok("GET", "/wxa/queryquota", "")
	id := e.submit()
	e.status(id)
	e.ok("GET", "/wxa/get_latest_auditstatus", "")
	e.admin("GET", "/miniship/v1/audits", nil)
	e.admin("GET", fmt.Sprintf("/miniship/v1/audits/%d", id), nil)
	e.decide(id, "approve", "", "")
	e.admin("POST", fmt.Sprintf("/miniship/v1/audits/%d/decision", id), map[string]string{"result": "approve"}) // 409
	e.ok("POST", "/wxa/release", `{}`)
	e.fails(85052, "POST", "/wxa/release", `{}`)
	e.ok("POST", "/wxa/getvisitstatus", `{}`)
	runtimeGet(e, e.mp.AppID, "u1", "")
	e.releaseVersion("1.0.1")
	e.commit("1.0.2", "")
	e.scanned()
	e.decide(e.submit(), "approve", "", "")
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":20}`)
	e.ok("GET", "/wxa/getgrayreleaseplan", "")
	e.ok("GET", "/wxa/revertgrayrelease", "")
	e.ok("GET", "/wxa/revertcoderelease?action=get_history_version", "")
	e.ok("POST", "/cgi-bin/wxopen/getweappsupportversion", `{}`)
	res, _ := runtimeGet(e, e.mp.AppID, "u1", "")
	runtimeGet(e, e.mp.AppID, "u1", res.Header.Get("ETag")) // 304
	e.ok("POST", "/wxa/change_visitstatus", `{"action":"close"}`)
	runtimeGet(e, e.mp.AppID, "u1", "") // 403
	e.admin("GET", "/miniship/v1/events", nil)
	e.admin("POST", "/miniship/v1/events/1/redeliver", nil) // 409: not failed

	v.mu.Lock()
	defer v.mu.Unlock()
	for _, want := range []string{
		"GET /miniship/v1/runtime/{appid}/package 200", "GET /miniship/v1/runtime/{appid}/package 304",
		"GET /miniship/v1/runtime/{appid}/package 403", "POST /miniship/v1/audits/{auditid}/decision 409",
		"POST /wxa/commit 200", "POST /cgi-bin/component/api_authorizer_token 200",
	} {
		if v.checked[want] == 0 {
			t.Errorf("no %s was validated (validated: %v)", want, v.checked)
		}
	}
}
