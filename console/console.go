// Package console is miniship's web console at /console/: the review
// queue, mini programs, templates, pushes and the server's test controls.
// Pages are server-rendered html/template with embedded assets (no CDN, no
// build step) and call the service, never the database.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

//go:embed assets templates
var files embed.FS

// Controls are the server settings the Server page edits; httpapi owns
// them (the fault rules and limits are HTTP-layer state).
type Controls interface {
	// Manual reports whether the clock is manual (it can be advanced).
	Manual() bool
	AdvanceClock(ctx context.Context, d time.Duration) error
	// Faults and Limits are JSON, as the admin API reads and writes them.
	FaultsJSON() string
	SetFaultsJSON(string) error
	LimitsJSON() string
	SetLimitsJSON(string) error
}

// Options configure the console.
type Options struct {
	Service  *service.Service
	AdminKey string
	Controls Controls
	Logger   *slog.Logger
	// Now is the wall clock for session expiry (default time.Now): sessions
	// follow real time even when the service clock is manual.
	Now func() time.Time
}

// Console is the http.Handler for /console/.
type Console struct {
	svc      *service.Service
	ctl      Controls
	log      *slog.Logger
	adminKey string
	secret   []byte // signs sessions and CSRF tokens
	now      func() time.Time
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// sessionTTL is how long a sign-in lasts.
const sessionTTL = 12 * time.Hour

// New returns the console.
func New(o Options) (*Console, error) {
	c := &Console{svc: o.Service, ctl: o.Controls, log: o.Logger, adminKey: o.AdminKey, now: o.Now}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	// Sessions are signed, not stored: memory stays bounded and a new
	// admin key signs everyone out.
	k := sha256.Sum256([]byte("miniship console session\x00" + o.AdminKey))
	c.secret = k[:]
	if err := c.parse(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) parse() error {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return err
		}
		c.pages[base] = t
	}
	return nil
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(files, "assets")
	m.Handle("GET /console/assets/", http.StripPrefix("/console/assets/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/signin", c.signinPage)
	m.HandleFunc("POST /console/signin", c.signin)
	auth := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		m.HandleFunc(pattern, c.authed(h))
	}
	auth("POST /console/signout", c.signout)
	auth("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, "/console/audits", http.StatusSeeOther)
		return nil
	})
	auth("GET /console/audits", c.audits)
	auth("GET /console/audits/{id}", c.audit)
	auth("POST /console/audits/{id}/decision", c.decide)
	auth("GET /console/media/{id}", c.media)
	auth("GET /console/apps", c.apps)
	auth("GET /console/apps/{appid}", c.app)
	auth("GET /console/apps/{appid}/qrcode", c.qrcode)
	auth("GET /console/apps/{appid}/diff", c.diff)
	auth("POST /console/apps/{appid}/grants", c.grants)
	auth("GET /console/templates", c.templates)
	auth("POST /console/templates/drafts", c.uploadDraft)
	auth("POST /console/templates/add", c.addTemplate)
	auth("POST /console/templates/delete", c.deleteTemplate)
	auth("GET /console/pushes", c.pushes)
	auth("POST /console/pushes/{id}/resend", c.resend)
	auth("GET /console/server", c.server)
	auth("POST /console/server/clock", c.advance)
	auth("POST /console/server/faults", c.setFaults)
	auth("POST /console/server/limits", c.setLimits)
	c.mux = m
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "same-origin")
	if _, pattern := c.mux.Handler(r); pattern == "" {
		c.render(w, r, http.StatusNotFound, "error", page{Title: "Not found", Data: "No console page " + r.URL.Path})
		return
	}
	c.mux.ServeHTTP(w, r)
}

// --- sessions and CSRF ------------------------------------------------------

const cookieName = "miniship_session"

func (c *Console) sign(msg string) string {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// session returns the valid session value of the request, or "".
func (c *Console) session(r *http.Request) string {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	exp, mac, ok := strings.Cut(ck.Value, ".")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || c.now().Unix() > unix || !hmac.Equal([]byte(mac), []byte(c.sign("session|"+exp))) {
		return ""
	}
	return ck.Value
}

// csrf is the form token bound to the session: a page from another site
// cannot know it, so it cannot post a decision in the operator's name.
func (c *Console) csrf(session string) string { return c.sign("csrf|" + session) }

type ctxKey struct{}

func (c *Console) authed(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == "" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Sign in", Error: "Your session ended: sign in again."})
			return
		}
		if r.Method != http.MethodGet {
			if err := r.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				c.fail(w, r, http.StatusBadRequest, err)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(c.csrf(s))) != 1 {
				c.fail(w, r, http.StatusForbidden, errors.New("the form's CSRF token is missing or stale: reload the page and try again"))
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
		if err := h(w, r); err != nil {
			c.fail(w, r, statusOf(err), err)
		}
	}
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if c.session(r) != "" {
		http.Redirect(w, r, "/console/audits", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Data: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	key := r.PostFormValue("admin_key")
	if c.adminKey == "" || subtle.ConstantTimeCompare([]byte(key), []byte(c.adminKey)) != 1 {
		c.log.Warn("console sign-in refused", "remote", r.RemoteAddr)
		c.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Sign in", Error: "That admin key is not right.", Data: safeNext(r.PostFormValue("next"))})
		return
	}
	exp := strconv.FormatInt(c.now().Add(sessionTTL).Unix(), 10)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: exp + "." + c.sign("session|"+exp), Path: "/console/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL / time.Second)})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// safeNext is where sign-in may send the browser: a console page of this
// server, or the audit queue. A prefix test is not enough: http.Redirect
// cleans "/console/../\evil.example" to "/\evil.example", which browsers
// read as //evil.example. So the path is judged as cleaned, and a
// backslash, a scheme or a host anywhere refuses it.
func safeNext(next string) string {
	const home = "/console/audits"
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || strings.ContainsAny(next, "\\\x00\r\n") {
		return home
	}
	p := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && p != "/" {
		p += "/" // Clean drops it; /console/ is a page
	}
	if !strings.HasPrefix(p, "/console/") || strings.HasPrefix(p, "//") {
		return home
	}
	p = (&url.URL{Path: p}).EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
	return nil
}

// --- rendering --------------------------------------------------------------

// page is what every template gets.
type page struct {
	Title  string
	Nav    string // the highlighted section
	CSRF   string
	Flash  string
	Error  string
	Now    time.Time
	Signed bool
	Data   any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if s, _ := r.Context().Value(ctxKey{}).(string); s != "" {
		p.CSRF, p.Signed = c.csrf(s), true
	}
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("flash")
	}
	p.Now = c.svc.Now()
	t := c.pages[name]
	var buf strings.Builder
	if err := t.Execute(&buf, p); err != nil {
		c.log.Error("console template", "page", name, "err", err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(buf.String()))
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, service.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, miniship.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, miniship.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	msg := err.Error()
	if status == http.StatusInternalServerError {
		c.log.Error("console", "path", r.URL.Path, "err", err)
		msg = "Something went wrong on the server; the log has the details."
	}
	c.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg})
}

// back redirects to the page the form was on, with a message.
func back(w http.ResponseWriter, r *http.Request, to, flash string) error {
	u, _ := url.Parse(to)
	q := u.Query()
	q.Set("flash", flash)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return nil
}
