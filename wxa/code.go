package wxa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"

	"github.com/miniship/miniship/wxerr"
)

// App is one authorized mini program: the code-management calls, made
// with its authorizer_access_token.
type App struct {
	c     *Client
	appid string
}

// App returns the handle of an authorized mini program. It needs a stored
// refresh token (QueryAuth or SetRefreshToken) to get tokens.
func (c *Client) App(appid string) *App { return &App{c: c, appid: appid} }

// AppID is the mini program's appid.
func (a *App) AppID() string { return a.appid }

// AccessToken returns a valid authorizer_access_token.
func (a *App) AccessToken(ctx context.Context) (string, error) {
	return a.c.AuthorizerAccessToken(ctx, a.appid)
}

func (a *App) call(ctx context.Context, method, path string, body, out any) error {
	return a.c.call(ctx, a.req(method, path, body), out)
}

// req builds a call; GETs and the read-only POSTs are idempotent.
func (a *App) req(method, path string, body any) *request {
	return &request{method: method, path: path, body: body, token: authorizerToken, appid: a.appid, idempotent: method == "GET"}
}

// empty is the {} body several POSTs need (44002 without it).
var empty = struct{}{}

// CommitRequest is the body of commit.
type CommitRequest struct {
	TemplateID int64
	// ExtJSON is sent as the string WeChat wants. A string, []byte or
	// json.RawMessage is sent as is; any other value is marshalled first
	// (without HTML escaping); nil (or a nil map or pointer) sends "{}".
	ExtJSON     any
	UserVersion string
	UserDesc    string
}

// ExtJSONString is the ext_json string Commit sends for v.
func ExtJSONString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "{}", nil
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case json.RawMessage:
		return string(x), nil
	}
	b, err := marshal(v)
	if err == nil && string(b) == "null" {
		return "{}", nil // a nil map or pointer: no ext_json, like nil
	}
	return string(b), err
}

// Commit uploads the template with ext_json as the mini program's
// experience version. A privacy scan follows; wait for it (WaitPrivacyScan)
// before SubmitAudit, and do not commit again to "fix" a 61039: that
// restarts the scan.
func (a *App) Commit(ctx context.Context, r CommitRequest) error {
	ext, err := ExtJSONString(r.ExtJSON)
	if err != nil {
		return err
	}
	body := struct {
		TemplateID  int64  `json:"template_id"`
		ExtJSON     string `json:"ext_json"`
		UserVersion string `json:"user_version"`
		UserDesc    string `json:"user_desc"`
	}{r.TemplateID, ext, r.UserVersion, r.UserDesc}
	return a.call(ctx, "POST", "/wxa/commit", body, nil)
}

// Pages calls get_page: the page paths of the committed code, for
// AuditItem.Address.
func (a *App) Pages(ctx context.Context) ([]string, error) {
	var res struct {
		List []string `json:"page_list"`
	}
	err := a.call(ctx, "GET", "/wxa/get_page", nil, &res)
	return res.List, err
}

// QRCode is the experience version's QR code image.
type QRCode struct {
	ContentType string // image/jpeg
	Data        []byte
}

// QRCode calls get_qrcode; path (page and query, e.g. "pages/index?x=1")
// may be empty for the home page.
func (a *App) QRCode(ctx context.Context, path string) (*QRCode, error) {
	r := a.req("GET", "/wxa/get_qrcode", nil)
	if path != "" {
		r.query = url.Values{"path": {path}}
	}
	res, err := a.c.send(ctx, r, func(res *response) error {
		// Success is the image; errors are JSON.
		if isImage(res) {
			return nil
		}
		if err := decodeResponse(res.body, nil); err != nil {
			return err
		}
		return fmt.Errorf("wxa: get_qrcode answered %q without an image", snippet(res.body))
	})
	if err != nil {
		return nil, err
	}
	return &QRCode{ContentType: res.header.Get("Content-Type"), Data: res.body}, nil
}

func isImage(res *response) bool {
	if t, _, err := mime.ParseMediaType(res.header.Get("Content-Type")); err == nil {
		return strings.HasPrefix(t, "image/")
	}
	b := bytes.TrimSpace(res.body)
	return len(b) > 0 && b[0] != '{'
}

// Category is a service category of the mini program (get_category).
type Category struct {
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int64  `json:"first_id"`
	SecondID    int64  `json:"second_id"`
	ThirdID     int64  `json:"third_id,omitempty"`
}

// AuditItem is an item_list entry for the category; set Address, Tag and
// Title on it.
func (c Category) AuditItem() AuditItem {
	return AuditItem{
		FirstClass: c.FirstClass, SecondClass: c.SecondClass, ThirdClass: c.ThirdClass,
		FirstID: c.FirstID, SecondID: c.SecondID, ThirdID: c.ThirdID,
	}
}

// Categories calls get_category.
func (a *App) Categories(ctx context.Context) ([]Category, error) {
	var res struct {
		List []Category `json:"category_list"`
	}
	err := a.call(ctx, "GET", "/wxa/get_category", nil, &res)
	return res.List, err
}

// PrivacyInfo is the answer of get_code_privacy_info: the privacy APIs the
// committed code uses without permission and without declaring them
// (names with the "wx." prefix).
type PrivacyInfo struct {
	WithoutAuthList []string `json:"without_auth_list"`
	WithoutConfList []string `json:"without_conf_list"`
}

// PrivacyInfo calls get_code_privacy_info; 61039 (wxerr.PrivacyScanRunning)
// means the scan of the last commit is still running.
func (a *App) PrivacyInfo(ctx context.Context) (*PrivacyInfo, error) {
	var res PrivacyInfo
	if err := a.call(ctx, "GET", "/wxa/security/get_code_privacy_info", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// WaitPrivacyScan polls get_code_privacy_info every Options.PollInterval
// until the post-commit scan is done and returns its result. Bound it with
// ctx. Call it between Commit and SubmitAudit.
func (a *App) WaitPrivacyScan(ctx context.Context) (*PrivacyInfo, error) {
	for {
		info, err := a.PrivacyInfo(ctx)
		if !errors.Is(err, wxerr.PrivacyScanRunning) {
			return info, err
		}
		if serr := a.c.o.Sleep(ctx, a.c.o.PollInterval); serr != nil {
			return nil, fmt.Errorf("wxa: waiting for the privacy scan of %s: %w", a.appid, serr)
		}
	}
}

// VersionInfo is the answer of getversioninfo; a part is nil when there is
// no such version.
type VersionInfo struct {
	ExpInfo *struct {
		ExpTime    int64  `json:"exp_time"`
		ExpVersion string `json:"exp_version"`
		ExpDesc    string `json:"exp_desc"`
	} `json:"exp_info,omitempty"`
	ReleaseInfo *struct {
		ReleaseTime    int64  `json:"release_time"`
		ReleaseVersion string `json:"release_version"`
		ReleaseDesc    string `json:"release_desc"`
	} `json:"release_info,omitempty"`
}

// VersionInfo calls getversioninfo.
func (a *App) VersionInfo(ctx context.Context) (*VersionInfo, error) {
	var res VersionInfo
	r := a.req("POST", "/wxa/getversioninfo", empty)
	r.idempotent = true
	if err := a.c.call(ctx, r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
