package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"statusName": func(st any) string {
		n := fmt.Sprint(st)
		return map[string]string{"0": "approved", "1": "rejected", "2": "in review", "3": "withdrawn", "4": "delayed"}[n]
	},
	"grayName": func(st int) string {
		return map[int]string{0: "initial", 1: "running", 2: "paused", 3: "finished", 4: "reverted"}[st]
	},
	"join":      strings.Join,
	"pageSizes": func() []int { return []int{50, 100, 200, 500} },
	"json": func(v any) string {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	},
	"br": func(s string) template.HTML { // WeChat reasons use <br> for line breaks; nothing else passes
		parts := strings.Split(s, "<br>")
		for i, p := range parts {
			parts[i] = template.HTMLEscapeString(p)
		}
		return template.HTML(strings.Join(parts, "<br>"))
	},
}

// --- audits -----------------------------------------------------------------

type auditRow struct {
	*miniship.Audit
	Nickname string
	Req      auditRequest
}

// auditRequest is the part of the stored submit_audit body the reviewer reads.
type auditRequest struct {
	ItemList []struct {
		Address     string `json:"address"`
		Tag         string `json:"tag"`
		FirstClass  string `json:"first_class"`
		SecondClass string `json:"second_class"`
		ThirdClass  string `json:"third_class"`
		Title       string `json:"title"`
	} `json:"item_list"`
	PreviewInfo struct {
		VideoIDList []string `json:"video_id_list"`
		PicIDList   []string `json:"pic_id_list"`
	} `json:"preview_info"`
	VersionDesc   string `json:"version_desc"`
	FeedbackInfo  string `json:"feedback_info"`
	FeedbackStuff string `json:"feedback_stuff"`
}

func (r auditRequest) FeedbackMedia() []string {
	if r.FeedbackStuff == "" {
		return nil
	}
	return strings.Split(r.FeedbackStuff, "|")
}

func decodeRequest(a *miniship.Audit) auditRequest {
	var req auditRequest
	json.Unmarshal(a.Request, &req) // stored by submit_audit, which validated it
	return req
}

func (c *Console) audits(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := q.Get("status")
	var sts []int
	switch status {
	case "", "queue":
		status, sts = "queue", []int{int(miniship.AuditPending), int(miniship.AuditDelayed)}
	case "all":
		sts = []int{-1}
	default:
		n, err := strconv.Atoi(status)
		if err != nil || n < 0 || n > 4 {
			return fmt.Errorf("%w: status must be queue, all or 0 to 4", service.ErrInvalid)
		}
		sts = []int{n}
	}
	appid := strings.TrimSpace(q.Get("appid"))
	var rows []auditRow
	var ids []string
	for _, st := range sts {
		as, err := c.svc.ListAudits(r.Context(), st, appid, 100)
		if err != nil {
			return err
		}
		for _, a := range as {
			rows = append(rows, auditRow{Audit: a, Req: decodeRequest(a)})
			ids = append(ids, a.AuthorizerAppID)
		}
	}
	names, err := c.svc.Nicknames(r.Context(), ids)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].Nickname = names[rows[i].AuthorizerAppID]
	}
	c.render(w, r, http.StatusOK, "audits", page{Title: "Audits", Nav: "audits", Data: map[string]any{
		"Rows": rows, "Status": status, "AppID": appid}})
	return nil
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: auditid must be a number", service.ErrInvalid)
	}
	a, v, err := c.svc.GetAudit(r.Context(), id)
	if err != nil {
		return err
	}
	names, err := c.svc.Nicknames(r.Context(), []string{a.AuthorizerAppID})
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "audit", page{Title: fmt.Sprintf("Audit %d", a.ID), Nav: "audits", Data: map[string]any{
		"A": auditRow{a, names[a.AuthorizerAppID], decodeRequest(a)}, "V": v,
		"InReview": a.Status == miniship.AuditPending || a.Status == miniship.AuditDelayed}})
	return nil
}

func (c *Console) decide(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: auditid must be a number", service.ErrInvalid)
	}
	d := service.Decision{Result: r.PostFormValue("result"), Reason: strings.TrimSpace(r.PostFormValue("reason")),
		ScreenShot: strings.Join(strings.Fields(strings.ReplaceAll(r.PostFormValue("screenshot"), "|", " ")), "|")}
	if d.Result == service.DecisionReject && d.Reason == "" {
		return back(w, r, fmt.Sprintf("/console/audits/%d", id), "A rejection needs a reason.")
	}
	if _, err := c.svc.DecideAudit(r.Context(), id, d); err != nil {
		if errors.Is(err, miniship.ErrConflict) {
			return back(w, r, fmt.Sprintf("/console/audits/%d", id), "This audit was decided already.")
		}
		return err
	}
	verb := map[string]string{"approve": "approved", "reject": "rejected", "delay": "delayed"}[d.Result]
	return back(w, r, fmt.Sprintf("/console/audits/%d", id), fmt.Sprintf("Audit %d %s; the result push is queued.", id, verb))
}

func (c *Console) media(w http.ResponseWriter, r *http.Request) error {
	m, err := c.svc.Media(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ct := http.DetectContentType(m.Data)
	if !strings.HasPrefix(ct, "image/") && !strings.HasPrefix(ct, "video/") {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(m.Data)
	return nil
}

// --- mini programs ----------------------------------------------------------

// Mini programs per page: 50 unless ?n= asks for up to 500.
const appsPerPage, maxAppsPerPage = 50, 500

func (c *Console) apps(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	after := r.URL.Query().Get("after")
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	if n <= 0 || n > maxAppsPerPage {
		n = appsPerPage
	}
	as, err := c.svc.SearchMiniPrograms(r.Context(), q, after, n+1)
	if err != nil {
		return err
	}
	next := ""
	if len(as) > n {
		as = as[:n]
		next = as[len(as)-1].AppID
	}
	c.render(w, r, http.StatusOK, "apps", page{Title: "Mini programs", Nav: "apps", Data: map[string]any{
		"Apps": as, "Q": q, "After": after, "Next": next, "N": n}})
	return nil
}

func (c *Console) app(w http.ResponseWriter, r *http.Request) error {
	st, err := c.svc.MiniProgram(r.Context(), r.PathValue("appid"), 20)
	if err != nil {
		return err
	}
	var req auditRequest
	if st.LatestAudit != nil {
		req = decodeRequest(st.LatestAudit)
	}
	c.render(w, r, http.StatusOK, "app", page{Title: st.Authorizer.Nickname, Nav: "apps", Data: map[string]any{
		"S": st, "AuditReq": req,
		"Categories": mustJSON(st.Authorizer.Categories), "Privacy": strings.Join(st.Authorizer.PrivacyAPIs, " "),
		"Plugins": mustJSON(st.Authorizer.Plugins)}})
	return nil
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	if string(b) == "null" {
		return "[]"
	}
	return string(b)
}

func (c *Console) qrcode(w http.ResponseWriter, r *http.Request) error {
	appid := r.PathValue("appid")
	link, err := c.svc.ExperienceLink(r.Context(), &service.Caller{AuthorizerAppID: appid}, "")
	if err != nil {
		return err
	}
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, q.Image(240)); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(buf.Bytes())
	return nil
}

func (c *Console) diff(w http.ResponseWriter, r *http.Request) error {
	appid := r.PathValue("appid")
	ver := func(key string) (*miniship.Version, error) {
		id, err := strconv.ParseInt(r.URL.Query().Get(key), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: choose two versions", service.ErrInvalid)
		}
		return c.svc.Version(r.Context(), appid, id)
	}
	a, err := ver("a")
	if err != nil {
		return err
	}
	b, err := ver("b")
	if err != nil {
		return err
	}
	lines := Diff(prettyJSON(a.App), prettyJSON(b.App))
	changed := 0
	for _, l := range lines {
		if l.Op != ' ' {
			changed++
		}
	}
	c.render(w, r, http.StatusOK, "diff", page{Title: "app.json diff", Nav: "apps", Data: map[string]any{
		"AppID": appid, "A": a, "B": b, "Lines": lines, "Changed": changed}})
	return nil
}

// prettyJSON lays the document out one key per line with sorted keys, so
// the line diff shows changes, not formatting.
func prettyJSON(raw json.RawMessage) []string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return strings.Split(string(raw), "\n")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the template escapes; "&" should read as "&"
	enc.SetIndent("", "  ")
	enc.Encode(v)
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func (c *Console) grants(w http.ResponseWriter, r *http.Request) error {
	appid := r.PathValue("appid")
	to := "/console/apps/" + appid
	var u service.AuthorizerUpdate
	privacy := strings.Fields(r.PostFormValue("privacy_apis"))
	u.PrivacyAPIs = &privacy
	var cats []miniship.Category
	if err := json.Unmarshal([]byte(r.PostFormValue("categories")), &cats); err != nil {
		return back(w, r, to, "Categories must be a JSON array: "+err.Error())
	}
	u.Categories = &cats
	var plugins []miniship.PluginGrant
	if err := json.Unmarshal([]byte(r.PostFormValue("plugins")), &plugins); err != nil {
		return back(w, r, to, "Plugins must be a JSON array: "+err.Error())
	}
	u.Plugins = &plugins
	if _, err := c.svc.UpdateAuthorizer(r.Context(), appid, u); err != nil {
		if errors.Is(err, service.ErrInvalid) {
			return back(w, r, to, err.Error())
		}
		return err
	}
	return back(w, r, to, "Grants saved; they apply to the next commit and audit.")
}

// --- templates --------------------------------------------------------------

func (c *Console) templates(w http.ResponseWriter, r *http.Request) error {
	ps, err := c.svc.ListPlatforms(r.Context())
	if err != nil {
		return err
	}
	platform := r.URL.Query().Get("platform")
	if platform == "" && len(ps) > 0 {
		platform = ps[0].AppID
	}
	data := map[string]any{"Platforms": ps, "Platform": platform}
	if platform != "" {
		caller := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: platform}
		if data["Drafts"], err = c.svc.ListDrafts(r.Context(), caller); err != nil {
			return err
		}
		if data["Templates"], err = c.svc.ListTemplates(r.Context(), caller, -1); err != nil {
			return err
		}
	}
	c.render(w, r, http.StatusOK, "templates", page{Title: "Templates", Nav: "templates", Data: data})
	return nil
}

func (c *Console) uploadDraft(w http.ResponseWriter, r *http.Request) error {
	platform := r.PostFormValue("platform")
	to := "/console/templates?platform=" + platform
	f, _, err := r.FormFile("package")
	if err != nil {
		return back(w, r, to, "Choose a template zip to upload.")
	}
	defer f.Close()
	pkg, err := io.ReadAll(io.LimitReader(f, 25<<20))
	if err != nil {
		return err
	}
	d := &miniship.Draft{PlatformAppID: platform, UserVersion: r.PostFormValue("user_version"), UserDesc: r.PostFormValue("user_desc"),
		Developer: r.PostFormValue("developer"), Package: pkg}
	if err := c.svc.CreateDraft(r.Context(), d); err != nil {
		if errors.Is(err, service.ErrInvalid) {
			return back(w, r, to, err.Error())
		}
		return err
	}
	return back(w, r, to, fmt.Sprintf("Draft %d uploaded.", d.ID))
}

func (c *Console) addTemplate(w http.ResponseWriter, r *http.Request) error {
	platform := r.PostFormValue("platform")
	id, _ := strconv.ParseInt(r.PostFormValue("draft_id"), 10, 64)
	typ, _ := strconv.Atoi(r.PostFormValue("template_type"))
	err := c.svc.AddToTemplate(r.Context(), &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: platform}, id, typ)
	msg := fmt.Sprintf("Draft %d added to the library.", id)
	if err != nil {
		msg = "Not added: " + err.Error()
	}
	return back(w, r, "/console/templates?platform="+platform, msg)
}

func (c *Console) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	platform := r.PostFormValue("platform")
	id, _ := strconv.ParseInt(r.PostFormValue("template_id"), 10, 64)
	err := c.svc.DeleteTemplate(r.Context(), &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: platform}, id)
	msg := fmt.Sprintf("Template %d deleted.", id)
	if err != nil {
		msg = "Not deleted: " + err.Error()
	}
	return back(w, r, "/console/templates?platform="+platform, msg)
}

// --- pushes -----------------------------------------------------------------

func (c *Console) pushes(w http.ResponseWriter, r *http.Request) error {
	platform := r.URL.Query().Get("platform")
	evs, err := c.svc.ListEvents(r.Context(), platform, 100)
	if err != nil {
		return err
	}
	ps, err := c.svc.ListPlatforms(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "pushes", page{Title: "Pushes", Nav: "pushes", Data: map[string]any{
		"Events": evs, "Platforms": ps, "Platform": platform}})
	return nil
}

func (c *Console) resend(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: event id must be a number", service.ErrInvalid)
	}
	to := "/console/pushes?platform=" + r.PostFormValue("platform")
	if _, err := c.svc.RedeliverEvent(r.Context(), id); err != nil {
		if errors.Is(err, miniship.ErrConflict) {
			return back(w, r, to, fmt.Sprintf("Push %d is not failed; nothing to resend.", id))
		}
		return err
	}
	return back(w, r, to, fmt.Sprintf("Push %d queued again.", id))
}

// --- server -----------------------------------------------------------------

func (c *Console) server(w http.ResponseWriter, r *http.Request) error {
	c.render(w, r, http.StatusOK, "server", page{Title: "Server", Nav: "server", Data: map[string]any{
		"Manual": c.ctl.Manual(), "Faults": c.ctl.FaultsJSON(), "Limits": c.ctl.LimitsJSON()}})
	return nil
}

func (c *Console) advance(w http.ResponseWriter, r *http.Request) error {
	d, err := time.ParseDuration(strings.TrimSpace(r.PostFormValue("by")))
	if err != nil || d < 0 {
		return back(w, r, "/console/server", "Advance by a duration such as 90s, 10m or 24h.")
	}
	if err := c.ctl.AdvanceClock(r.Context(), d); err != nil {
		return back(w, r, "/console/server", err.Error())
	}
	return back(w, r, "/console/server", "Clock advanced by "+d.String()+".")
}

func (c *Console) setFaults(w http.ResponseWriter, r *http.Request) error {
	if err := c.ctl.SetFaultsJSON(r.PostFormValue("faults")); err != nil {
		return back(w, r, "/console/server", "Fault rules not saved: "+err.Error())
	}
	return back(w, r, "/console/server", "Fault rules saved.")
}

func (c *Console) setLimits(w http.ResponseWriter, r *http.Request) error {
	if err := c.ctl.SetLimitsJSON(r.PostFormValue("limits")); err != nil {
		return back(w, r, "/console/server", "Limits not saved: "+err.Error())
	}
	return back(w, r, "/console/server", "Limits saved.")
}
