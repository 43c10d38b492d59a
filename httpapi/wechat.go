package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// Method sets a route accepts. Several endpoints are sent with the "wrong"
// method by popular SDKs; those routes accept both (see docs/feature-support.md).
const (
	get  = 1 << iota
	post = 1 << iota
	both = get | post
)

// route describes one WeChat endpoint.
type route struct {
	methods int
	token   miniship.TokenKind // "" for endpoints that take none
	// kinds are the token kinds a handler authenticates itself when token
	// is "" (eitherToken): what openapi/quota/get answers for.
	kinds []miniship.TokenKind
	perms []int // permission sets an authorizer token needs (any one)
	body  bool  // a missing body is 44002
	// queryAction: an "action" in the query stands for the body, which
	// may then be missing (memberauth, plugin, devplugin).
	queryAction bool
	bare        bool   // success carries no errcode (token endpoints)
	errType     string // Content-Type of error answers when not JSON's (binary endpoints)
	h           func(*call) (any, error)

	// grantInTx: the service method checks the grant in its own
	// transaction (service.AuthenticateInTx); set only on such methods.
	grantInTx bool
	// upload is the most a multipart body the handler reads may be; 0
	// for routes that read none (budget.go).
	upload int64
}

// call is one request to a WeChat endpoint.
type call struct {
	ctx    context.Context
	r      *http.Request
	w      http.ResponseWriter
	rid    string
	caller *service.Caller
	body   []byte
	// raw is set by handlers that wrote the response themselves (QR images).
	raw bool

	plain bool       // the query needs no unescaping (plainQuery)
	q     url.Values // the query parsed, once asked for

	turn     func() // gives back the turn the request holds (turns.go)
	turnCost int64  // and what it holds
}

// query is the request's query, parsed once.
func (c *call) query() url.Values {
	if c.q == nil {
		c.q = c.r.URL.Query()
	}
	return c.q
}

// param is the first value of a query parameter. A plain query (nearly
// every one: "access_token=...") is read where it lies, without the map.
func (c *call) param(key string) string {
	if c.plain && c.q == nil {
		return rawGet(c.r.URL.RawQuery, key)
	}
	return c.query().Get(key)
}

// token is the access token the query carries, under either name.
func (c *call) token() string {
	if tok := c.param("access_token"); tok != "" {
		return tok
	}
	return c.param("component_access_token")
}

// plainQuery reports whether a query means what it says: nothing escaped
// ('%', '+'), no ';' (which url.ParseQuery refuses), no NUL, valid UTF-8,
// and short: url.ParseQuery refuses a query of over 10,000 parameters
// (GODEBUG urlmaxqueryparams), which a plain one could not be. Its values
// are then its raw substrings, and none is badText.
func plainQuery(raw string) bool {
	return len(raw) <= maxPlainQuery && !strings.ContainsAny(raw, "%+;\x00") && utf8.ValidString(raw)
}

// maxPlainQuery is far above any SDK's query (a token is ~150 bytes) and
// below the shortest query of 10,000 parameters.
const maxPlainQuery = 4096

// rawGet is url.Values.Get on a plainQuery.
func rawGet(raw, key string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if k, v, _ := strings.Cut(kv, "="); k == key && kv != "" { // ParseQuery skips "&&"
			return v
		}
	}
	return ""
}

// decode unmarshals the JSON body; malformed JSON is 47001. An empty body
// decodes as {} unless the route requires one (checked before).
func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return wxerr.New(wxerr.DataFormatError, jsonErrDetail(err))
	}
	// A NUL character is valid JSON but no text PostgreSQL stores, so it
	// is refused here (and in query strings, runWeChat), for every request,
	// on either backend. Most bodies have no \u0000 at all, and are not
	// walked. (encoding/json has already made invalid UTF-8 valid.)
	if bytes.Contains(c.body, []byte(`\u0000`)) && holdsNUL(reflect.ValueOf(v)) {
		return wxerr.New(wxerr.DataFormatError, "a string holds a NUL character")
	}
	return nil
}

// badText reports a string PostgreSQL cannot store as text: a NUL, or
// bytes that are not UTF-8.
func badText(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

// badValues reports a query or form with a badText value.
func badValues(vs url.Values) bool {
	for _, v := range vs {
		if slices.ContainsFunc(v, badText) {
			return true
		}
	}
	return false
}

// holdsNUL reports whether a decoded value holds a string with a NUL.
func holdsNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.IndexByte(v.String(), 0) >= 0
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && holdsNUL(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			// An embedded struct's fields are decoded even when its
			// type is unexported.
			if f := v.Type().Field(i); (f.IsExported() || f.Anonymous) && holdsNUL(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false // raw JSON, stored as its text: any NUL in it is escaped
		}
		for i := range v.Len() {
			if holdsNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if holdsNUL(it.Key()) || holdsNUL(it.Value()) {
				return true
			}
		}
	}
	return false
}

func jsonErrDetail(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "field " + te.Field + " has the wrong type"
	}
	return "invalid JSON"
}

// maxQueryParams is the most query parameters net/url parses (its
// urlmaxqueryparams default).
const maxQueryParams = 10000

// maxBody caps JSON request bodies; WeChat's own limit is of this order.
const maxBody = 2 << 20

func (s *Server) serveWeChat(w http.ResponseWriter, r *http.Request, rt route) {
	c := &call{ctx: r.Context(), r: r, w: w, rid: ridOf(r), plain: plainQuery(r.URL.RawQuery)}
	res, err := s.runWeChat(c, rt)
	if c.raw && err == nil {
		return
	}
	if err != nil {
		e := wxerr.From(err)
		var injected injectedFault
		var refused busy
		switch {
		case r.Context().Err() != nil:
			// The client went away (or the server closed its connection on
			// shutdown): whatever failed, failed for that.
			s.log.Debug("request cancelled", "rid", c.rid, "path", r.URL.Path, "err", err)
		case errors.As(err, &injected):
			s.log.Debug("injected fault", "rid", c.rid, "path", r.URL.Path, "errcode", int(e.Code))
		case errors.As(err, &refused):
			s.log.Warn("request refused", "rid", c.rid, "path", r.URL.Path, "why", e.Msg)
		case e.Code == wxerr.SystemError:
			s.log.Error("internal error", "rid", c.rid, "path", r.URL.Path, "err", err)
		default:
			s.log.Debug("wechat error", "rid", c.rid, "path", r.URL.Path, "errcode", int(e.Code), "errmsg", e.Msg)
		}
		writeErrAs(w, c.rid, e, rt.errType)
		return
	}
	writeOK(w, res, rt.bare)
}

func (s *Server) runWeChat(c *call, rt route) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "rid", c.rid, "path", c.r.URL.Path, "panic", p)
			res, err = nil, wxerr.New(wxerr.SystemError, "")
		}
	}()
	switch {
	case c.r.Method == http.MethodGet && rt.methods&get == 0:
		return nil, wxerr.New(wxerr.RequirePOST, "")
	case c.r.Method == http.MethodPost && rt.methods&post == 0:
		return nil, wxerr.New(wxerr.RequireGET, "")
	case c.r.Method != http.MethodGet && c.r.Method != http.MethodPost:
		if rt.methods&get != 0 {
			return nil, wxerr.New(wxerr.RequireGET, "")
		}
		return nil, wxerr.New(wxerr.RequirePOST, "")
	}
	if err := s.faults.apply(c.ctx, c.r.URL.Path); err != nil {
		return nil, err
	}
	if strings.Count(c.r.URL.RawQuery, "&") >= maxQueryParams {
		// net/url parses none of such a query, which would read as if it
		// carried no access_token (41001).
		return nil, wxerr.Errorf(wxerr.DataFormatError, "more than %d query parameters", maxQueryParams)
	}
	if rt.token != "" {
		tok := c.token()
		if badText(tok) { // no token is such; PostgreSQL could not even look it up
			return nil, wxerr.New(wxerr.InvalidCredential, "")
		}
		auth := s.svc.Authenticate
		if rt.grantInTx {
			auth = s.svc.AuthenticateInTx
		}
		if c.caller, err = auth(c.ctx, tok, rt.token, rt.perms...); err != nil {
			return nil, err
		}
		defer s.svc.GrantFirst(c.ctx, c.caller, &err)
		if err := s.limits.check(c.ctx, c.caller, c.r.URL.Path); err != nil {
			return nil, err
		}
	}
	if !c.plain && badValues(c.query()) {
		return nil, wxerr.New(wxerr.DataFormatError, "a query parameter holds a NUL character or invalid UTF-8")
	}
	// The body's bytes, before it is read: past the token, so that they
	// count against the caller's platform (budget.go).
	n := rt.bodyBytes(c.r)
	tenant := ""
	if c.caller != nil {
		tenant = c.caller.PlatformAppID
	}
	if n > smallBody {
		grant, err := s.budget.acquire(c.ctx, tenant, n)
		if err != nil {
			return nil, err
		}
		defer grant.release()
	}
	if tenant != "" || n > 0 {
		// The store's writer takes tenants in turns, and keeps a
		// transaction's payload bounded, by this (sqlstore/fair.go).
		c.ctx = miniship.WithTenant(c.ctx, tenant, n)
	}
	// Only an upload route reads a multipart body itself; any other reads
	// the body whatever its Content-Type says, and answers what it finds
	// (a form body where JSON belongs is 47001 or the endpoint's own code,
	// never 44002 "empty post data").
	if c.r.Method == http.MethodPost && !rt.readsMultipart(c.r) {
		limit := int64(maxBody)
		if rt.token == "" {
			limit = maxAnonymousBody
		}
		if c.body, err = readBody(c.w, c.r, limit); err != nil {
			return nil, wxerr.New(wxerr.DataFormatError, "request body too large or unreadable")
		}
	}
	if rt.body && len(bytes.TrimSpace(c.body)) == 0 && !(rt.queryAction && c.param("action") != "") {
		return nil, wxerr.New(wxerr.EmptyPostData, "")
	}
	// Its bytes are here; handling them waits for a turn when they are
	// many (turns.go), and so may a handler's own work.
	defer c.endTurn()
	if err := s.takeTurn(c, int64(len(c.body))); err != nil {
		return nil, err
	}
	return rt.h(c)
}

// readBody reads a request body of up to limit bytes. A body that says
// its length (nearly all do) is read into one buffer of that size, not
// io.ReadAll's 512 bytes grown by doubling; net/http ends it there.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if n := r.ContentLength; n >= 0 && n <= limit {
		buf := make([]byte, n)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(body)
}

// readPart reads a multipart part of at most limit bytes, or limit+1 when
// it is longer (the caller refuses it), into one buffer no larger than the
// request's body: not io.ReadAll's doubling, which for a 10 MB upload
// allocates twice that and keeps up to 6 MB of it unused.
func readPart(part io.Reader, limit int, r *http.Request) ([]byte, error) {
	n := limit + 1
	if cl := r.ContentLength; cl >= 0 && cl < int64(n) {
		n = int(cl) // the part is inside the body
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(io.LimitReader(part, int64(limit)+1), buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return buf[:k], err
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	rid := ridOf(r)
	s.log.Debug("unknown path", "rid", rid, "path", r.URL.Path)
	writeErr(w, rid, wxerr.Errorf(wxerr.SystemError, "unknown api %s", r.URL.Path))
}
