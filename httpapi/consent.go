package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/miniship/miniship/service"
)

// The consent page stands in for mp.weixin.qq.com/cgi-bin/componentloginpage.
// WeChat has the mini program's administrator scan a code; here the merchant
// signs in with the mini program's appid and AppSecret, then ticks the
// permission sets. The page lists no mini programs. Exclusive sets another
// platform holds are shown greyed out with that platform's appid, before the
// merchant consents (docs/consent.md).
//
// The form posts to the same URL: component_appid, pre_auth_code,
// redirect_uri, authorizer_appid, authorizer_secret and permission_set
// (repeatable). Without permission_set the POST is the sign-in step and
// answers the choice of sets; with them it is the consent, answered by a
// 302 to redirect_uri?auth_code=…&expires_in=600. A script can post it all
// at once.

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {{.Platform}} · miniship</title>
<style>
:root{--green:#07c160;--ink:#1f2329;--muted:#646a73;--line:#e5e6eb}
*{box-sizing:border-box}
body{margin:0;background:#f2f3f5;color:var(--ink);font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif}
main{max-width:34rem;margin:3rem auto;padding:0 1rem}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:2rem}
.brand{color:var(--green);font-weight:600;letter-spacing:.02em;margin:0 0 1.25rem}
h1{font-size:1.3rem;margin:0 0 .25rem}
.sub{color:var(--muted);margin:0 0 1.5rem}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f2f3f5;border-radius:4px;padding:.05rem .3rem}
label.field{display:block;font-weight:600;margin:1rem 0 .35rem}
input[type=text],input[type=password]{width:100%;padding:.65rem .75rem;border:1px solid var(--line);border-radius:8px;font:inherit}
input[type=text]:focus,input[type=password]:focus{outline:2px solid var(--green);border-color:transparent}
button{margin-top:1.5rem;width:100%;padding:.75rem;border:0;border-radius:8px;background:var(--green);color:#fff;font:inherit;font-weight:600;cursor:pointer}
button:hover{filter:brightness(.95)}
.alert{border-radius:8px;padding:.75rem 1rem;margin:0 0 1.25rem;background:#fdecec;color:#b42318}
.note{border-radius:8px;padding:.75rem 1rem;margin:0 0 1rem;background:#fff7e6;color:#8a5a00}
ul.sets{list-style:none;margin:0;padding:0;border:1px solid var(--line);border-radius:8px;max-height:24rem;overflow:auto}
ul.sets li{border-top:1px solid var(--line)}
ul.sets li:first-child{border-top:0}
ul.sets label{display:flex;gap:.75rem;align-items:flex-start;padding:.6rem .85rem;cursor:pointer}
ul.sets li.held label{cursor:not-allowed;color:var(--muted);background:#fafafa}
.name{flex:1}
input[type=checkbox]{accent-color:var(--green);margin-top:.3rem}
.tag{font-size:12px;border-radius:999px;padding:.05rem .5rem;white-space:nowrap;background:#e8f7ef;color:#067d45}
.tag.held{background:#f2f3f5;color:var(--muted)}
.why{display:block;font-size:13px}
footer{color:var(--muted);font-size:13px;text-align:center;margin-top:1rem}
</style></head>
<body><main><div class="card">
<p class="brand">miniship · Mini Program authorization</p>
{{if .Account}}
<h1>Authorize <code>{{.Platform}}</code></h1>
<p class="sub">Signed in as <strong>{{.Account.Nickname}}</strong> (<code>{{.Account.AppID}}</code>).
{{if .Account.Authorized}}This platform is authorized already; your choice replaces its permission sets.{{else}}Choose what the platform may do on your behalf.{{end}}</p>
{{if .Error}}<p class="alert" role="alert">{{.Error}}</p>{{end}}
{{if .Held}}<p class="note">Some exclusive permission sets are held by another third-party platform and cannot be granted to this one. To move one, revoke that platform's authorization or untick the set there first.</p>{{end}}
<form method="post">
{{template "hidden" .}}
<input type="hidden" name="authorizer_appid" value="{{.Account.AppID}}">
<input type="hidden" name="authorizer_secret" value="{{.Secret}}">
<input type="hidden" name="step" value="grant">
<ul class="sets">
{{range .Account.Sets}}{{if .HeldBy}}<li class="held"><label><input type="checkbox" disabled>
<span class="name">Set {{.ID}}{{with .Name}} · {{.}}{{end}}<span class="why">Held by platform <code>{{.HeldBy}}</code></span></span><span class="tag held">exclusive</span></label></li>
{{else}}<li><label><input type="checkbox" name="permission_set" value="{{.ID}}"{{if index $.Ticked .ID}} checked{{end}}>
<span class="name">Set {{.ID}}{{with .Name}} · {{.}}{{end}}</span>{{if .Exclusive}}<span class="tag">exclusive</span>{{end}}</label></li>
{{end}}{{end}}</ul>
<button type="submit">Authorize</button>
</form>
{{else}}
<h1>Authorize <code>{{.Platform}}</code></h1>
<p class="sub">The third-party platform asks to manage one of your mini programs. Sign in with the mini program's appid and AppSecret to choose what it may do.</p>
{{if .Error}}<p class="alert" role="alert">{{.Error}}</p>{{end}}
{{if .Form}}<form method="post">
{{template "hidden" .}}
<label class="field" for="appid">AppID</label>
<input type="text" id="appid" name="authorizer_appid" value="{{.AppID}}" autocomplete="username" required spellcheck="false">
<label class="field" for="secret">AppSecret</label>
<input type="password" id="secret" name="authorizer_secret" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>{{end}}
{{end}}
</div><footer>Your AppSecret goes to this server only; the platform never sees it.</footer></main></body></html>
{{define "hidden"}}<input type="hidden" name="component_appid" value="{{.Platform}}">
<input type="hidden" name="pre_auth_code" value="{{.Code}}">
<input type="hidden" name="redirect_uri" value="{{.Redirect}}">{{end}}
`))

type consentView struct {
	Platform, Code, Redirect string
	Error                    string
	Form                     bool   // show the sign-in form
	AppID, Secret            string // the merchant's sign-in, carried to the second step
	Account                  *service.ConsentAccount
	Ticked                   map[int]bool
	Held                     bool
}

func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	// One click on this page grants a platform a mini program: no other
	// site may frame it, its URL (with the pre_auth_code) goes into no
	// Referer, and the second step (which carries the AppSecret) is not
	// cached.
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	}
	if err := r.ParseForm(); err != nil || badValues(r.Form) {
		s.consentPage(w, http.StatusBadRequest, consentView{Error: "bad form"})
		return
	}
	v := consentView{Platform: r.FormValue("component_appid"), Code: r.FormValue("pre_auth_code"), Redirect: r.FormValue("redirect_uri")}
	redirect, err := url.Parse(v.Redirect)
	if err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" {
		v.Error = "redirect_uri must be an absolute http(s) URL"
		s.consentPage(w, http.StatusBadRequest, v)
		return
	}
	if r.Method != http.MethodPost {
		if err := s.svc.ConsentPage(r.Context(), v.Platform, v.Code); err != nil {
			s.consentFailed(w, r, v, err)
			return
		}
		v.Form = true
		s.consentPage(w, http.StatusOK, v)
		return
	}
	v.AppID, v.Secret = r.FormValue("authorizer_appid"), r.FormValue("authorizer_secret")
	if v.AppID == "" || v.Secret == "" {
		v.Error, v.Form = "enter the mini program's appid and AppSecret", true
		s.consentPage(w, http.StatusBadRequest, v)
		return
	}
	var sets []int
	for _, p := range r.Form["permission_set"] {
		n, err := strconv.Atoi(p)
		if err != nil {
			v.Error = "bad permission set " + strconv.Quote(p)
			s.consentPage(w, http.StatusBadRequest, v)
			return
		}
		sets = append(sets, n)
	}
	if len(sets) == 0 { // the sign-in step, or a second step with nothing ticked
		if r.FormValue("step") == "grant" {
			v.Error = "tick at least one permission set"
		}
		s.consentChoose(w, r, v, nil)
		return
	}
	res, err := s.svc.Consent(r.Context(), service.ConsentRequest{
		Platform: v.Platform, PreAuthCode: v.Code, AuthorizerAppID: v.AppID, Secret: v.Secret, PermissionSets: sets,
	})
	var ce *service.ConsentError
	if errors.As(err, &ce) && ce.Sets {
		// Signed in, but the sets cannot be granted: choose again.
		v.Error = ce.Msg
		s.consentChoose(w, r, v, sets)
		return
	}
	if err != nil {
		s.consentFailed(w, r, v, err)
		return
	}
	q := redirect.Query()
	q.Set("auth_code", res.AuthCode)
	q.Set("expires_in", strconv.Itoa(res.ExpiresIn))
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// consentChoose signs the merchant in and shows the sets to tick; ticked
// are the ones asked for, else the platform's current grant, else the
// default sets.
func (s *Server) consentChoose(w http.ResponseWriter, r *http.Request, v consentView, ticked []int) {
	acc, err := s.svc.ConsentSignIn(r.Context(), v.Platform, v.Code, v.AppID, v.Secret)
	if err != nil {
		s.consentFailed(w, r, v, err)
		return
	}
	v.Account, v.Ticked = acc, map[int]bool{}
	if ticked == nil && acc.Authorized {
		for _, ps := range acc.Sets {
			if ps.Granted {
				ticked = append(ticked, ps.ID)
			}
		}
	}
	if ticked == nil {
		ticked = s.svc.Config().DefaultPermissionSets
	}
	for _, ps := range acc.Sets {
		v.Ticked[ps.ID] = ps.HeldBy == "" && slices.Contains(ticked, ps.ID)
		v.Held = v.Held || ps.HeldBy != ""
	}
	status := http.StatusOK
	if v.Error != "" {
		status = http.StatusBadRequest
	}
	s.consentPage(w, status, v)
}

// consentFailed shows a refusal; the sign-in form comes back while the
// link is still usable.
func (s *Server) consentFailed(w http.ResponseWriter, r *http.Request, v consentView, err error) {
	var ce *service.ConsentError
	if !errors.As(err, &ce) {
		s.log.Error("consent page", "err", err)
		v.Error = "internal error: try again later"
		s.consentPage(w, http.StatusInternalServerError, v)
		return
	}
	v.Error, v.Secret, v.Account = ce.Msg, "", nil
	v.Form = s.svc.ConsentPage(r.Context(), v.Platform, v.Code) == nil
	status := http.StatusBadRequest
	if ce.SignIn {
		status = http.StatusForbidden
	}
	s.consentPage(w, status, v)
}

func (s *Server) consentPage(w http.ResponseWriter, status int, v consentView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := consentTmpl.Execute(w, v); err != nil {
		s.log.Error("consent page", "err", err)
	}
}
