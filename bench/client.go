package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// client speaks to one miniship server: the admin API with the bearer key
// and the WeChat API with access tokens.
type client struct {
	base     string
	adminKey string
	hc       *http.Client
}

// wxError is a WeChat answer with a non-zero errcode.
type wxError struct {
	Code int
	Body string
}

func (e *wxError) Error() string { return fmt.Sprintf("errcode %d: %s", e.Code, e.Body) }

// do sends one request and returns the body; a transport error or a status
// other than 2xx is an error.
func (c *client) do(ctx context.Context, method, path, contentType string, body []byte, admin bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.adminKey)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	return raw, nil
}

// admin calls the admin API with a JSON body and decodes the answer.
func (c *client) admin(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	raw, err := c.do(ctx, method, path, "application/json", body, true)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// wechat calls a WeChat endpoint; an answer with a non-zero errcode is a
// *wxError.
func (c *client) wechat(ctx context.Context, method, path, query string, in any, out any) error {
	var body []byte
	switch in := in.(type) {
	case nil:
	case rawJSON:
		body = in
	default:
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	raw, err := c.do(ctx, method, path+"?"+query, "application/json", body, false)
	if err != nil {
		return err
	}
	return checkWX(raw, out)
}

// okHead is how miniship starts every successful WeChat answer.
var okHead = []byte(`{"errcode":0,`)

// checkWX decodes a WeChat answer into out and turns a non-zero errcode
// into a *wxError.
func checkWX(raw []byte, out any) error {
	if out == nil && bytes.HasPrefix(raw, okHead) {
		return nil // the server's success, decoded by nobody: spare the load generator's CPU
	}
	var head struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fmt.Errorf("not JSON: %.200s", raw)
	}
	if head.ErrCode != 0 {
		return &wxError{Code: head.ErrCode, Body: string(raw)}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// uploadDraft posts a template zip to the platform's draft box.
func (c *client) uploadDraft(ctx context.Context, platform string, zip []byte) (int64, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("package", "template.zip")
	if err != nil {
		return 0, err
	}
	fw.Write(zip)
	mw.WriteField("user_version", "1.0.0")
	mw.WriteField("user_desc", "miniship bench")
	mw.Close()
	raw, err := c.do(ctx, "POST", "/miniship/v1/platforms/"+url.PathEscape(platform)+"/drafts", mw.FormDataContentType(), buf.Bytes(), true)
	if err != nil {
		return 0, err
	}
	var out struct {
		DraftID int64 `json:"draft_id"`
	}
	return out.DraftID, json.Unmarshal(raw, &out)
}

func tokenQuery(tok string) string { return "access_token=" + url.QueryEscape(tok) }

// trimErr shortens an error for the report.
func trimErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "rid:"); i > 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
