package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
)

// TestCategoriesByType: getcategoriesbytype answers getallcategories' tree
// for each subject type 0–4 (number or string, no body meaning 0) and the
// WeChat errcode for everything else.
func TestCategoriesByType(t *testing.T) {
	e := arSetup(t, mstest.Options{}, nil)
	s := e.s
	ctoken := componentToken(t, s, e.p.AppID, e.p.Secret)
	// A mini program that granted only set 19: no 30.
	bare, btok := e.addMiniProgram(&miniship.Authorizer{})
	if _, err := s.Service.Authorize(t.Context(), e.p.AppID, bare.AppID, []int{19}); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(s.URL + "/cgi-bin/wxopen/getallcategories?" + tok(e.tok).Encode())
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var tree map[string]any
	if json.Unmarshal(all, &tree) != nil || tree["categories_list"] == nil {
		t.Fatalf("getallcategories: %s", all)
	}

	const path = "/cgi-bin/wxopen/getcategoriesbytype"
	for _, body := range []string{``, `{}`, `{"verify_type":0}`, `{"verify_type":1}`, `{"verify_type":"2"}`, `{"verify_type":4}`} {
		res := rawCall(t, s, "POST", path, tok(e.tok), body)
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(all)) {
			t.Fatalf("body %q: HTTP %d, answer differs from getallcategories' (%d vs %d bytes)", body, res.StatusCode, len(got), len(all))
		}
	}
	for _, c := range []struct {
		name string
		q    url.Values
		body string
		code int
	}{
		{"type 5", tok(e.tok), `{"verify_type":5}`, 53303},
		{"type -1", tok(e.tok), `{"verify_type":-1}`, 53303},
		{"bad json", tok(e.tok), `{"verify_type":`, 47001},
		{"component token", url.Values{"component_access_token": {ctoken}}, `{}`, 40001},
		{"without set 30", tok(btok), `{}`, 61007},
		{"no token", nil, `{}`, 41001},
	} {
		t.Run(c.name, func(t *testing.T) { arWant(t, wx(t, s, "POST", path, c.q, c.body), c.code) })
	}
	if m := wx(t, s, "GET", path, tok(e.tok), ""); arCode(m) == 0 {
		t.Fatalf("GET answered a tree; the call is POST only: %v", m)
	}
}
