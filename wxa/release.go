package wxa

import (
	"context"
	"net/url"
	"strconv"
)

// Release calls release: the last approved version goes online.
func (a *App) Release(ctx context.Context) error {
	return a.call(ctx, "POST", "/wxa/release", empty, nil)
}

// VisitAction is the action of change_visitstatus.
type VisitAction string

const (
	VisitOpen  VisitAction = "open"
	VisitClose VisitAction = "close"
)

// ChangeVisitStatus calls change_visitstatus.
func (a *App) ChangeVisitStatus(ctx context.Context, action VisitAction) error {
	body := struct {
		Action VisitAction `json:"action"`
	}{action}
	return a.call(ctx, "POST", "/wxa/change_visitstatus", body, nil)
}

// VisitStatus calls getvisitstatus: 1 serving, 0 paused.
func (a *App) VisitStatus(ctx context.Context) (int, error) {
	var res struct {
		Status int `json:"status"`
	}
	r := a.req("POST", "/wxa/getvisitstatus", empty)
	r.idempotent = true
	err := a.c.call(ctx, r, &res)
	return res.Status, err
}

// HistoryVersion is a release revertcoderelease can go back to.
type HistoryVersion struct {
	AppVersion  int64  `json:"app_version"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	CommitTime  int64  `json:"commit_time"`
}

// RevertRelease calls revertcoderelease: back to appVersion, or to the
// previous release when appVersion is 0.
func (a *App) RevertRelease(ctx context.Context, appVersion int64) error {
	r := a.req("GET", "/wxa/revertcoderelease", nil)
	r.idempotent = false // a repeated revert goes back one more version
	if appVersion != 0 {
		r.query = url.Values{"app_version": {strconv.FormatInt(appVersion, 10)}}
	}
	return a.c.call(ctx, r, nil)
}

// ReleaseHistory calls revertcoderelease?action=get_history_version: the
// releases that can be reverted to (the last 5).
func (a *App) ReleaseHistory(ctx context.Context) ([]HistoryVersion, error) {
	r := a.req("GET", "/wxa/revertcoderelease", nil)
	r.query = url.Values{"action": {"get_history_version"}}
	var res struct {
		List []HistoryVersion `json:"version_list"`
	}
	err := a.c.call(ctx, r, &res)
	return res.List, err
}

// GrayReleaseRequest is the body of grayrelease. Percentages must grow
// from call to call (85082); 0 needs one of the flags.
type GrayReleaseRequest struct {
	GrayPercentage          int  `json:"gray_percentage"`
	SupportDebuggerFirst    bool `json:"support_debuger_first,omitempty"` // the wire spelling is WeChat's
	SupportExperiencerFirst bool `json:"support_experiencer_first,omitempty"`
}

// GrayRelease calls grayrelease.
func (a *App) GrayRelease(ctx context.Context, r GrayReleaseRequest) error {
	return a.call(ctx, "POST", "/wxa/grayrelease", r, nil)
}

// RevertGrayRelease calls revertgrayrelease: gray users go back.
func (a *App) RevertGrayRelease(ctx context.Context) error {
	r := a.req("GET", "/wxa/revertgrayrelease", nil)
	r.idempotent = false
	return a.c.call(ctx, r, nil)
}

// GrayReleasePlan is the gray_release_plan of getgrayreleaseplan. Status:
// 0 initial, 1 running, 2 paused, 3 finished, 4 deleted.
type GrayReleasePlan struct {
	Status                  int   `json:"status"`
	CreateTimestamp         int64 `json:"create_timestamp"`
	GrayPercentage          int   `json:"gray_percentage"`
	SupportDebuggerFirst    bool  `json:"support_debuger_first"`
	SupportExperiencerFirst bool  `json:"support_experiencer_first"`
}

// GrayReleasePlan calls getgrayreleaseplan.
func (a *App) GrayReleasePlan(ctx context.Context) (*GrayReleasePlan, error) {
	var res struct {
		Plan GrayReleasePlan `json:"gray_release_plan"`
	}
	if err := a.call(ctx, "GET", "/wxa/getgrayreleaseplan", nil, &res); err != nil {
		return nil, err
	}
	return &res.Plan, nil
}

// SupportVersion is the answer of getweappsupportversion: the minimum base
// library version and the share of users on each version.
type SupportVersion struct {
	NowVersion string `json:"now_version"`
	UVInfo     struct {
		Items []struct {
			Percentage float64 `json:"percentage"`
			Version    string  `json:"version"`
		} `json:"items"`
	} `json:"uv_info"`
}

// SupportVersion calls getweappsupportversion.
func (a *App) SupportVersion(ctx context.Context) (*SupportVersion, error) {
	var res SupportVersion
	r := a.req("POST", "/cgi-bin/wxopen/getweappsupportversion", empty)
	r.idempotent = true
	if err := a.c.call(ctx, r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// SetSupportVersion calls setweappsupportversion.
func (a *App) SetSupportVersion(ctx context.Context, version string) error {
	body := struct {
		Version string `json:"version"`
	}{version}
	return a.call(ctx, "POST", "/cgi-bin/wxopen/setweappsupportversion", body, nil)
}
