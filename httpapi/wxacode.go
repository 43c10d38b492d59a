package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"image/color"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/codeimg"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// Mini program codes (permission set 17) and the images behind
// api_get_authorizer_info's head_img and qrcode_url.
//
// Error framing. A binary endpoint answers an image on success and a JSON
// errcode on error; clients tell the two apart by Content-Type:
//   - the code endpoints answer errors as WeChat does, application/json;
//     encoding=utf-8 (WxJava's miniapp executors, EasyWeChat's
//     Content-disposition test, SKIT's and wechatpy's body parsing all
//     work with it);
//   - get_qrcode answers errors as text/plain, exactly: weixin-java-open's
//     get_qrcode executors take only that exact type as an error and would
//     otherwise save the JSON as the image. The body is the same JSON, which
//     is what every other SDK reads.
const (
	codeErrType   = "application/json; encoding=utf-8"
	qrcodeErrType = "text/plain"
)

// Width of a code: WeChat's default and range.
const (
	codeWidthDefault = 430
	codeWidthMin     = 280
	codeWidthMax     = 1280
)

func (s *Server) wxacodeRoutes(m map[string]route) {
	code := func(kind string) route {
		return route{methods: post, token: miniship.AuthorizerToken, perms: []int{PermCodes}, body: true,
			errType: codeErrType, h: s.wxacode(kind)}
	}
	m["/wxa/getwxacode"] = code(service.CodeLimited)
	m["/wxa/getwxacodeunlimit"] = code(service.CodeUnlimited)
	m["/cgi-bin/wxaapp/createwxaqrcode"] = code(service.CodeSquare)
	if qr, ok := m["/wxa/get_qrcode"]; ok {
		qr.errType = qrcodeErrType
		m["/wxa/get_qrcode"] = qr
	}
	m["/miniship/img/head"] = route{methods: get, h: s.headImage}
	m["/miniship/img/qrcode"] = route{methods: get, h: s.accountQRCode}
}

// PermCodes is the permission set of the code endpoints (older pages: 17
// or 58; miniship takes 17).
const PermCodes = 17

// writeErrAs answers a WeChat error with the route's error Content-Type.
func writeErrAs(w http.ResponseWriter, rid string, e *wxerr.Error, ctype string) {
	if ctype == "" {
		writeErr(w, rid, e)
		return
	}
	w.Header().Set("Content-Type", ctype)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(errBody{Code: int(e.Code), Msg: e.WireMsg(rid)})
}

type rgbWire struct {
	R Int64 `json:"r"`
	G Int64 `json:"g"`
	B Int64 `json:"b"`
}

func (s *Server) wxacode(kind string) func(*call) (any, error) {
	return func(c *call) (any, error) {
		// A form body is "not json string": the code's own length errcode.
		if formBody(c.body) {
			if kind == service.CodeUnlimited {
				return nil, wxerr.New(wxerr.InvalidSceneLength, "send a JSON body")
			}
			return nil, wxerr.New(wxerr.InvalidCodePath, "send a JSON body")
		}
		var req struct {
			Path       string   `json:"path"`
			Page       string   `json:"page"`
			Scene      string   `json:"scene"`
			CheckPath  *Bool    `json:"check_path"`
			EnvVersion string   `json:"env_version"`
			Width      Int64    `json:"width"`
			AutoColor  Bool     `json:"auto_color"`
			LineColor  *rgbWire `json:"line_color"`
			IsHyaline  Bool     `json:"is_hyaline"`
		}
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		cr := service.CodeRequest{Kind: kind, Path: req.Path, Page: req.Page, Scene: req.Scene,
			CheckPath: req.CheckPath == nil || bool(*req.CheckPath), EnvVersion: req.EnvVersion}
		code, err := s.svc.MakeCode(c.ctx, c.caller, cr)
		if err != nil {
			return nil, err
		}
		width := int(req.Width)
		if width == 0 {
			width = codeWidthDefault
		}
		width = min(max(width, codeWidthMin), codeWidthMax)
		// Rendering and encoding cost tens of milliseconds: a turn, after
		// every check (a refused code gets its errcode, never -1) and so
		// after the code is counted, which then waits for as long as its
		// client does.
		if err := s.takeCountedTurn(c, imageCost(width)); err != nil {
			return nil, err
		}
		o := codeimg.Options{Width: width, Round: kind != service.CodeSquare, Hyaline: bool(req.IsHyaline) && kind != service.CodeSquare}
		switch {
		case bool(req.AutoColor):
			o.Line = autoColor(c.caller.AuthorizerAppID)
		case req.LineColor != nil:
			b := func(n Int64) uint8 { return uint8(min(max(n, 0), 255)) }
			o.Line = color.RGBA{b(req.LineColor.R), b(req.LineColor.G), b(req.LineColor.B), 255}
		default:
			o.Line = color.RGBA{0, 0, 0, 255}
		}
		img, ctype, err := codeimg.Render(code.Content, o)
		if err != nil {
			return nil, err
		}
		h := c.w.Header()
		if kind != service.CodeUnlimited {
			h.Set("Num-Used", strconv.Itoa(code.NumUsed))
		}
		writeImage(c, img, ctype, "wxacode")
		return nil, nil
	}
}

// formBody reports a body that is a URL-encoded form (path=pages%2Findex)
// rather than JSON. The body decides, not the Content-Type, as on WeChat
// and every other endpoint: curl -d and PHP's curl send JSON as
// application/x-www-form-urlencoded, and a form sent as application/json
// is still a form. A body that starts as JSON does ({, [ or ") is JSON,
// broken or not (47001); otherwise a form starts with a key and =.
func formBody(body []byte) bool {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || bytes.IndexByte([]byte(`{["`), b[0]) >= 0 {
		return false
	}
	key, _, ok := bytes.Cut(b, []byte("="))
	return ok && len(key) > 0 && !bytes.ContainsAny(key, " \t\r\n{}[]\":,")
}

// autoColor is a dark colour of the mini program's own, standing in for
// WeChat's colour picked from the head image.
func autoColor(appid string) color.RGBA {
	h := sha256.Sum256([]byte(appid))
	return color.RGBA{h[0] % 128, h[1] % 128, h[2] % 128, 255}
}

// writeImage answers an image as WeChat frames one: its type, an
// attachment disposition (EasyWeChat takes only that as an image) and the
// length.
func writeImage(c *call, img []byte, ctype, name string) {
	ext := ".jpg"
	if ctype == "image/png" {
		ext = ".png"
	}
	c.endTurn() // the work is done; a slow reader must not hold the turn
	h := c.w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-disposition", `attachment; filename="`+name+ext+`"`)
	h.Set("Content-Length", strconv.Itoa(len(img)))
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(img)
	c.raw = true
}

// baseURL is the address the client reached this server at, for the image
// URLs of api_get_authorizer_info and getaccountbasicinfo.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func headImageURL(r *http.Request, appid string) string {
	return baseURL(r) + "/miniship/img/head?appid=" + url.QueryEscape(appid)
}

func qrcodeURL(r *http.Request, appid string) string {
	return baseURL(r) + "/miniship/img/qrcode?appid=" + url.QueryEscape(appid)
}

// imageAppID reads the appid of an image route: an unknown one is 40013.
func (s *Server) imageAppID(c *call) (string, error) {
	appid := c.param("appid")
	ok, err := s.svc.AuthorizerExists(c.ctx, appid)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", wxerr.New(wxerr.InvalidAppID, "")
	}
	return appid, nil
}

// headSide is the head image's side in pixels.
const headSide = 132

// headImage is a mini program's head image: a disc in its own colour.
func (s *Server) headImage(c *call) (any, error) {
	appid, err := s.imageAppID(c)
	if err != nil {
		return nil, err
	}
	if err := s.takeTurn(c, imageCost(headSide)); err != nil {
		return nil, err
	}
	img, err := codeimg.Avatar(autoColor(appid), headSide)
	if err != nil {
		return nil, err
	}
	writeImage(c, img, "image/png", "head")
	return nil, nil
}

// accountQRCode is the qrcode_url image: the round code of the home page.
func (s *Server) accountQRCode(c *call) (any, error) {
	appid, err := s.imageAppID(c)
	if err != nil {
		return nil, err
	}
	if err := s.takeTurn(c, imageCost(codeWidthDefault)); err != nil {
		return nil, err
	}
	content := "miniship:wxacode?" + url.Values{"appid": {appid}, "path": {""}}.Encode()
	img, ctype, err := codeimg.Render(content, codeimg.Options{Width: codeWidthDefault, Round: true, Line: color.RGBA{0, 0, 0, 255}})
	if err != nil {
		return nil, err
	}
	writeImage(c, img, ctype, "qrcode")
	return nil, nil
}
