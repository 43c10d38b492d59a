package httpapi

import (
	"html/template"
	"net/http"
	"strings"
)

// The root path is where a person lands when they open the server in a
// browser, so it points at the console and the docs instead of answering
// WeChat's -1 "unknown api" like any other unknown path. No WeChat API
// lives at /, so no SDK can depend on the -1 there.

// indexLinks are what / points to; the console is served under /console/.
var indexLinks = struct {
	Console, Docs, Admin, Health string
}{
	Console: "/console/",
	Docs:    "https://github.com/miniship/miniship#readme",
	Admin:   adminPrefix,
	Health:  "/miniship/healthz",
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>miniship</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>miniship</h1>
<p>A WeChat-compatible mini program code-management server. The WeChat API
answers at api.weixin.qq.com's paths (<code>/cgi-bin/component/…</code>, <code>/wxa/…</code>).</p>
<ul>
<li><a href="{{.Console}}">The console</a>: platforms, mini programs and the audit queue</li>
<li><a href="{{.Docs}}">The documentation</a> (README.md and docs/ in the repository)</li>
<li>The admin API: <code>{{.Admin}}</code> with <code>Authorization: Bearer &lt;admin key&gt;</code></li>
<li>Health: <a href="{{.Health}}"><code>{{.Health}}</code></a></li>
</ul>
</body></html>
`))

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notFound(w, r) // a POST to / is a misdirected API call: WeChat's answer
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeJSON(w, http.StatusOK, map[string]string{
			"name":      "miniship",
			"console":   indexLinks.Console,
			"docs":      indexLinks.Docs,
			"admin_api": indexLinks.Admin,
			"health":    indexLinks.Health,
		})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY")
	indexPage.Execute(w, indexLinks)
}
