package httpapi

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// The consent page stands in for mp.weixin.qq.com/cgi-bin/componentloginpage:
// a merchant picks one of its mini programs, ticks the permission sets and
// consents; the browser goes back to redirect_uri with auth_code.

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {{.Platform}}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}fieldset{margin:1em 0}</style></head>
<body>
<h1>Authorize the platform {{.Platform}}</h1>
{{if .Error}}<p role="alert" style="color:#b00">{{.Error}}</p>{{end}}
{{if .Choices}}
<form method="post">
<input type="hidden" name="component_appid" value="{{.Platform}}">
<input type="hidden" name="pre_auth_code" value="{{.Code}}">
<input type="hidden" name="redirect_uri" value="{{.Redirect}}">
<fieldset><legend>Mini program</legend>
{{range $i, $c := .Choices}}<label><input type="radio" name="authorizer_appid" value="{{$c.AppID}}"{{if eq $i 0}} checked{{end}}> {{$c.Nickname}} ({{$c.AppID}})</label><br>
{{end}}</fieldset>
<fieldset><legend>Permission sets</legend>
{{range .Sets}}<label><input type="checkbox" name="permission_set" value="{{.}}" checked> {{.}}</label>
{{end}}</fieldset>
<button type="submit">Authorize</button>
</form>
{{end}}
</body></html>
`))

type consentView struct {
	Platform, Code, Redirect, Error string
	Choices                         []service.ConsentChoice
	Sets                            []int
}

func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	// One click on this page grants a platform a mini program: no other
	// site may frame it, and its URL (with the pre_auth_code) goes into no
	// Referer.
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.consentError(w, consentView{Error: "bad form"})
			return
		}
	}
	v := consentView{Platform: r.FormValue("component_appid"), Code: r.FormValue("pre_auth_code"), Redirect: r.FormValue("redirect_uri"), Sets: s.svc.Config().DefaultPermissionSets}
	redirect, err := url.Parse(v.Redirect)
	if err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" {
		v.Error = "redirect_uri must be an absolute http(s) URL"
		s.consentError(w, v)
		return
	}
	if r.Method != http.MethodPost {
		_, v.Choices, err = s.svc.ConsentPage(r.Context(), v.Platform, v.Code)
		if err != nil {
			v.Error = wxerr.From(err).Msg
			s.consentError(w, v)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		consentTmpl.Execute(w, v)
		return
	}
	var sets []int
	for _, p := range r.Form["permission_set"] {
		n, err := strconv.Atoi(p)
		if err != nil {
			v.Error = "bad permission set"
			s.consentError(w, v)
			return
		}
		sets = append(sets, n)
	}
	if len(sets) == 0 {
		v.Error = "tick at least one permission set"
		s.consentError(w, v)
		return
	}
	res, err := s.svc.Consent(r.Context(), v.Platform, v.Code, r.FormValue("authorizer_appid"), sets)
	if err != nil {
		v.Error = wxerr.From(err).Msg
		s.consentError(w, v)
		return
	}
	q := redirect.Query()
	q.Set("auth_code", res.AuthCode)
	q.Set("expires_in", strconv.Itoa(res.ExpiresIn))
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) consentError(w http.ResponseWriter, v consentView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	consentTmpl.Execute(w, v)
}
