package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/extjson"
)

// A version stores what its commit sent (ext_json) and its own facts
// (template, versions, times), not what follows from them: the effective
// app.json and page configs, the ext object, the page list and the privacy
// lists are the template merged with the ext_json, which the engine makes
// again when an answer needs them. Templates never change and a deleted
// one is only marked deleted (its package stays), so the result is the one
// the commit had. Versions stored before keep what they stored and are
// read as stored (docs/storage.md).

// applyVersion runs the engine over a version's ext_json. No grants: they
// were checked at commit time and only ever refuse; the merge does not
// depend on them.
func applyVersion(ct *cachedTemplate, v *miniship.Version) (*extjson.Result, error) {
	res, err := extjson.Apply(ct.tpl, v.ExtJSON, extjson.Options{Standard: ct.meta.Type == miniship.TemplateStandard})
	if err != nil {
		return nil, fmt.Errorf("version %d: ext_json no longer applies: %w", v.ID, err)
	}
	return res, nil
}

// setDerived sets what a version answers from the engine's result, as a
// commit computed it.
func setDerived(ct *cachedTemplate, v *miniship.Version, res *extjson.Result) error {
	ext, err := json.Marshal(res.Ext)
	if err != nil {
		return err
	}
	v.Ext, v.PageList = ext, pageList(res.App)
	v.UsedPrivacyAPIs, v.DeclaredPrivacyAPIs = ct.tpl.PrivacyAPIs, res.RequiredPrivateInfos
	return nil
}

// derive fills the ext, page list and privacy lists of a version that does
// not store them, reading its template in tx when the cache lacks it.
// Derived answers are cached by version id: versions never change.
func (s *Service) derive(tx miniship.Tx, v *miniship.Version) error {
	if !v.Derived {
		return nil
	}
	if d, ok := s.derived.get(v.ID); ok {
		d.fill(v)
		return nil
	}
	ct, err := s.versionTemplate(tx, v)
	if err != nil {
		return err
	}
	res, err := applyVersion(ct, v)
	if err != nil {
		return err
	}
	if err := setDerived(ct, v, res); err != nil {
		return err
	}
	s.derived.put(v.ID, derivedOf(v))
	return nil
}

// errUnderived ends a write transaction that met a version whose answers
// are not derived yet (updateDeriving).
var errUnderived = errors.New("service: version answers not derived yet")

// updateDeriving runs fn in a write transaction; fn calls derive for the
// versions whose answers it needs. A version not in the cache of derived
// answers ends the first attempt: its answers are derived in a read
// transaction and fn runs again, so the engine does not run while holding
// the writer (SQLite has one for all mini programs). The second attempt
// derives inside if it must (a newer commit came meanwhile).
func (s *Service) updateDeriving(ctx context.Context, fn func(tx miniship.Tx, derive func(*miniship.Version) error) error) error {
	for attempt := 0; ; attempt++ {
		var pending *miniship.Version
		err := s.update(ctx, func(tx miniship.Tx) error {
			pending = nil
			return fn(tx, func(v *miniship.Version) error {
				if _, ok := s.derived.get(v.ID); ok || !v.Derived || attempt > 0 {
					return s.derive(tx, v)
				}
				pending = v
				return errUnderived
			})
		})
		if !errors.Is(err, errUnderived) || pending == nil {
			return err
		}
		if err := s.view(ctx, func(tx miniship.Tx) error { return s.derive(tx, pending) }); err != nil {
			return err
		}
	}
}

// versionTemplate returns a version's template, deleted or not: from the
// cache, or read in tx and cached.
func (s *Service) versionTemplate(tx miniship.Tx, v *miniship.Version) (*cachedTemplate, error) {
	if ct, ok := s.tplCache.get(v.TemplateID); ok && ct.meta.PlatformAppID == v.PlatformAppID {
		return ct, nil // the code and type never change; meta may be stale on deleted, unused here
	}
	meta, err := tx.GetTemplate(v.PlatformAppID, v.TemplateID)
	if err != nil {
		return nil, fmt.Errorf("version %d: template %d: %w", v.ID, v.TemplateID, err)
	}
	d, err := tx.GetDraft(v.PlatformAppID, meta.DraftID)
	if err != nil {
		return nil, fmt.Errorf("version %d: template %d: draft %d: %w", v.ID, v.TemplateID, meta.DraftID, err)
	}
	return s.parseTemplate(meta, d.Package)
}

// versionConfig returns the template of a version and its effective
// app.json and page configs, and fills what derive fills.
func (s *Service) versionConfig(ctx context.Context, v *miniship.Version) (*cachedTemplate, map[string]any, map[string]map[string]any, error) {
	ct, err := s.loadTemplate(ctx, v.PlatformAppID, v.TemplateID, true)
	if err != nil {
		return nil, nil, nil, err
	}
	if v.App != nil && v.Pages != nil && !v.Derived {
		var app map[string]any
		var pages map[string]map[string]any
		if err := json.Unmarshal(v.App, &app); err != nil {
			return nil, nil, nil, fmt.Errorf("version %d: %w", v.ID, err)
		}
		if err := json.Unmarshal(v.Pages, &pages); err != nil {
			return nil, nil, nil, fmt.Errorf("version %d: %w", v.ID, err)
		}
		return ct, app, pages, nil
	}
	res, err := applyVersion(ct, v)
	if err != nil {
		return nil, nil, nil, err
	}
	if v.Derived {
		if err := setDerived(ct, v, res); err != nil {
			return nil, nil, nil, err
		}
	}
	return ct, res.App, res.Pages, nil
}

// fillConfig sets v.App and v.Pages from the engine when the version does
// not store them, and what derive fills.
func (s *Service) fillConfig(ctx context.Context, v *miniship.Version) error {
	if v.App != nil && v.Pages != nil {
		return nil
	}
	_, app, pages, err := s.versionConfig(ctx, v)
	if err != nil {
		return err
	}
	if v.App, err = json.Marshal(app); err != nil {
		return err
	}
	v.Pages, err = json.Marshal(pages)
	return err
}

// reviewable prepares a version for autoVerdict, which reads its page
// titles and ext only when an auto-reject rule is set.
func (s *Service) reviewable(ctx context.Context, derive func(*miniship.Version) error, v *miniship.Version) error {
	if s.cfg.AutoReject == nil {
		return nil
	}
	if err := derive(v); err != nil {
		return err
	}
	return s.fillConfig(ctx, v)
}
