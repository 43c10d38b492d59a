// Package demo seeds a fresh server with a platform, two authorized mini
// programs, a draft and a template, so a newcomer can call the API at once.
// Tests use its template zip as a realistic fixture too.
package demo

import (
	"archive/zip"
	"bytes"
	"context"
	"embed"
	"errors"
	"io/fs"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

//go:embed all:template
var files embed.FS

// IDs of the demo data.
const (
	PlatformAppID = "wxdemocomponent01"
	ShopA         = "wxdemoshop0000001"
	ShopB         = "wxdemoshop0000002"
)

// TemplateZip returns the demo mini program as a zip, as the developer
// tool would upload it.
func TemplateZip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	root, _ := fs.Sub(files, "template")
	if err := zw.AddFS(root); err != nil {
		panic(err) // embedded files are known good
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Seeded is what Seed created (or found).
type Seeded struct {
	Platform    *miniship.Platform
	Authorizers []*miniship.Authorizer
	Refresh     map[string]string // authorizer appid → refresh token
	TemplateID  int64
	Created     bool // false when the demo data was already there
}

// Seed creates the demo data once; later calls return what exists.
func Seed(ctx context.Context, svc *service.Service) (*Seeded, error) {
	out := &Seeded{Refresh: map[string]string{}}
	var existing *miniship.Platform
	err := svc.Store().View(ctx, func(tx miniship.Tx) (err error) {
		existing, err = tx.GetPlatform(PlatformAppID)
		return err
	})
	switch {
	case err == nil:
		out.Platform = existing
		return out, svc.Store().View(ctx, func(tx miniship.Tx) error {
			for _, id := range []string{ShopA, ShopB} {
				a, err := tx.GetAuthorizer(id)
				if err != nil {
					return err
				}
				out.Authorizers = append(out.Authorizers, a)
				auth, err := tx.GetAuthorization(PlatformAppID, id)
				if err != nil {
					return err
				}
				out.Refresh[id] = auth.RefreshToken
			}
			ts, err := tx.ListTemplates(PlatformAppID, -1)
			if len(ts) > 0 {
				out.TemplateID = ts[0].ID
			}
			return err
		})
	case !errors.Is(err, miniship.ErrNotFound):
		return nil, err
	}
	out.Created = true
	if out.Platform, err = svc.CreatePlatform(ctx, &miniship.Platform{AppID: PlatformAppID}); err != nil {
		return nil, err
	}
	cats := []miniship.Category{{FirstClass: "商家自营", SecondClass: "百货", FirstID: 304, SecondID: 305}}
	for i, id := range []string{ShopA, ShopB} {
		a := &miniship.Authorizer{AppID: id, Nickname: []string{"Demo Shop A", "Demo Shop B"}[i], ProfileComplete: true, Categories: cats}
		if i == 0 {
			a.PrivacyAPIs = []string{"getLocation"}
		}
		if a, err = svc.CreateAuthorizer(ctx, a); err != nil {
			return nil, err
		}
		if err := svc.SeedPrivacyGuide(ctx, id); err != nil {
			return nil, err
		}
		out.Authorizers = append(out.Authorizers, a)
		auth, err := svc.Authorize(ctx, PlatformAppID, id, nil)
		if err != nil {
			return nil, err
		}
		out.Refresh[id] = auth.RefreshToken
	}
	d := &miniship.Draft{PlatformAppID: PlatformAppID, UserVersion: "1.0.0", UserDesc: "demo shop template", SourceAppID: "wxdemodeveloper01", SourceName: "Demo Dev", Developer: "demo", Package: TemplateZip()}
	if err := svc.CreateDraft(ctx, d); err != nil {
		return nil, err
	}
	c := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: PlatformAppID}
	if err := svc.AddToTemplate(ctx, c, d.ID, miniship.TemplateNormal); err != nil {
		return nil, err
	}
	ts, err := svc.ListTemplates(ctx, c, -1)
	if err != nil || len(ts) == 0 {
		return nil, errors.Join(err, errors.New("demo template missing"))
	}
	out.TemplateID = ts[0].TemplateID
	return out, nil
}
