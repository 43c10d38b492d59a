package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

// CreateDraft puts an uploaded template zip in the platform's draft box, as
// the developer tool's upload does. The package is read and validated now
// (85043, 85044), so every draft can become a template.
func (s *Service) CreateDraft(ctx context.Context, d *miniship.Draft) error {
	if _, err := template.ReadZipBytes(d.Package, s.cfg.TemplateLimits); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, wxerr.From(err).Msg)
	}
	if len(d.UserVersion) > 64 {
		return invalidf("user_version is longer than 64 characters")
	}
	d.CreatedAt = s.Now()
	return s.update(ctx, func(tx miniship.Tx) error {
		if _, err := tx.GetPlatform(d.PlatformAppID); err != nil {
			return fmt.Errorf("platform %s: %w", d.PlatformAppID, err)
		}
		return tx.CreateDraft(d)
	})
}

// DraftItem is one entry of gettemplatedraftlist.
type DraftItem struct {
	CreateTime   int64  `json:"create_time"`
	UserVersion  string `json:"user_version"`
	UserDesc     string `json:"user_desc"`
	DraftID      int64  `json:"draft_id"`
	SourceAppID  string `json:"source_miniprogram_appid"`
	SourceName   string `json:"source_miniprogram"`
	Developer    string `json:"developer"`
	CategoryList []any  `json:"category_list"`
}

// ListDrafts lists the platform's draft box.
func (s *Service) ListDrafts(ctx context.Context, c *Caller) ([]DraftItem, error) {
	var out []DraftItem
	err := s.view(ctx, func(tx miniship.Tx) error {
		ds, err := tx.ListDrafts(c.PlatformAppID)
		out = make([]DraftItem, 0, len(ds))
		for _, d := range ds {
			out = append(out, DraftItem{d.CreatedAt.Unix(), d.UserVersion, d.UserDesc, d.ID, d.SourceAppID, d.SourceName, d.Developer, []any{}})
		}
		return err
	})
	return out, err
}

// AddToTemplate copies a draft into the template library.
func (s *Service) AddToTemplate(ctx context.Context, c *Caller, draftID int64, typ int) error {
	if typ != miniship.TemplateNormal && typ != miniship.TemplateStandard {
		return wxerr.Errorf(wxerr.InvalidArgs, "template_type must be 0 (normal) or 1 (standard), got %d", typ)
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		// Held so that two additions cannot both see room for one more.
		if _, err := tx.LockPlatform(c.PlatformAppID); err != nil {
			return err
		}
		// Deleted templates no version names go now, not at the next prune:
		// a loop of additions and deletions holds a minute's worth at most.
		if _, err := tx.PruneTemplates(c.PlatformAppID, s.Now().Add(-templateGrace), sweepBatch); err != nil {
			return err
		}
		d, err := tx.GetDraft(c.PlatformAppID, draftID)
		if err != nil {
			return notFound(err, wxerr.DraftNotFound, fmt.Sprintf("draft_id %d", draftID))
		}
		live, err := tx.ListTemplates(c.PlatformAppID, -1)
		if err != nil {
			return err
		}
		if len(live) >= s.cfg.MaxTemplates {
			return wxerr.Errorf(wxerr.TemplateListFull, "the library holds %d templates", len(live))
		}
		return tx.CreateTemplate(&miniship.Template{
			PlatformAppID: c.PlatformAppID, DraftID: d.ID, Type: typ,
			UserVersion: d.UserVersion, UserDesc: d.UserDesc, SourceAppID: d.SourceAppID,
			SourceName: d.SourceName, Developer: d.Developer, CreatedAt: s.Now(),
		})
	})
}

// TemplateItem is one entry of gettemplatelist.
type TemplateItem struct {
	CreateTime   int64  `json:"create_time"`
	UserVersion  string `json:"user_version"`
	UserDesc     string `json:"user_desc"`
	TemplateID   int64  `json:"template_id"`
	DraftID      int64  `json:"draft_id"`
	SourceAppID  string `json:"source_miniprogram_appid"`
	SourceName   string `json:"source_miniprogram"`
	Developer    string `json:"developer"`
	TemplateType int    `json:"template_type"`
	CategoryList []any  `json:"category_list"`
	// audit_scene, audit_status and reason belong to standard templates,
	// whose platform-level audit miniship does not model: a standard
	// template counts as approved (3).
	AuditScene  *int    `json:"audit_scene,omitempty"`
	AuditStatus *int    `json:"audit_status,omitempty"`
	Reason      *string `json:"reason,omitempty"`
}

// ListTemplates lists the library; typ < 0 lists every type.
func (s *Service) ListTemplates(ctx context.Context, c *Caller, typ int) ([]TemplateItem, error) {
	var out []TemplateItem
	err := s.view(ctx, func(tx miniship.Tx) error {
		ts, err := tx.ListTemplates(c.PlatformAppID, typ)
		out = make([]TemplateItem, 0, len(ts))
		for _, t := range ts {
			it := TemplateItem{t.CreatedAt.Unix(), t.UserVersion, t.UserDesc, t.ID, t.DraftID, t.SourceAppID, t.SourceName, t.Developer, t.Type, []any{}, nil, nil, nil}
			if t.Type == miniship.TemplateStandard {
				scene, status, reason := 0, 3, ""
				it.AuditScene, it.AuditStatus, it.Reason = &scene, &status, &reason
			}
			out = append(out, it)
		}
		return err
	})
	return out, err
}

// DeleteTemplate removes a template from the library. Commits already made
// from it keep their code: the row stays, marked deleted, until no version
// names it (PruneTemplates).
func (s *Service) DeleteTemplate(ctx context.Context, c *Caller, id int64) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		t, err := tx.GetTemplate(c.PlatformAppID, id)
		if err == nil && t.Deleted {
			err = miniship.ErrNotFound
		}
		if err != nil {
			return notFound(err, wxerr.DraftNotFound, fmt.Sprintf("template_id %d", id))
		}
		return tx.DeleteTemplate(c.PlatformAppID, id, s.Now())
	})
}

// cachedTemplate is a parsed template; templates never change, so parsing
// each once per process is enough.
type cachedTemplate struct {
	meta *miniship.Template
	tpl  *template.Template
}

// loadTemplate returns the platform's template id, parsed. A deleted
// template is 85014 unless withDeleted (its old commits still build).
func (s *Service) loadTemplate(ctx context.Context, platform string, id int64, withDeleted bool) (*cachedTemplate, error) {
	var meta *miniship.Template
	var pkg []byte
	err := s.view(ctx, func(tx miniship.Tx) error {
		var err error
		meta, err = tx.GetTemplate(platform, id)
		if err == nil && meta.Deleted && !withDeleted {
			err = miniship.ErrNotFound
		}
		if err != nil {
			return notFound(err, wxerr.TemplateNotExist, fmt.Sprintf("template_id %d", id))
		}
		ct, ok := s.tplCache.get(id)
		if ok && ct.meta.PlatformAppID == platform {
			return nil
		}
		d, err := tx.GetDraft(platform, meta.DraftID)
		if err != nil {
			return notFound(err, wxerr.TemplateNotExist, fmt.Sprintf("template_id %d has no code", id))
		}
		pkg = d.Package
		return nil
	})
	if err != nil {
		return nil, err
	}
	ct, ok := s.tplCache.get(id)
	if ok {
		return &cachedTemplate{meta: meta, tpl: ct.tpl}, nil // fresh meta, same immutable code
	}
	if pkg == nil { // evicted since we looked: read the package this time
		return s.loadTemplate(ctx, platform, id, withDeleted)
	}
	return s.parseTemplate(meta, pkg)
}

// parseTemplate parses a template's package and caches it.
func (s *Service) parseTemplate(meta *miniship.Template, pkg []byte) (*cachedTemplate, error) {
	tpl, err := template.ReadZipBytes(pkg, s.cfg.TemplateLimits)
	if err != nil {
		if errors.Is(err, wxerr.PackageTooLarge) {
			return nil, err
		}
		return nil, wxerr.Errorf(wxerr.InvalidTemplate, "template_id %d: %s", meta.ID, wxerr.From(err).Msg)
	}
	ct := &cachedTemplate{meta: meta, tpl: tpl}
	s.tplCache.put(meta.ID, ct)
	return ct, nil
}
