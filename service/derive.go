package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/extjson"
)

// A version stores what its commit sent (ext_json) and what the API
// returns from it (ext, the page list, the privacy declarations), not the
// effective app.json and page configs: those are the template merged with
// the ext_json, which the engine makes again when something needs them
// (the experience package, the automatic reviewer). Templates never change
// and a deleted one still builds its old commits, so the result is the
// one the commit had. Versions stored before this have them and keep them.

// versionConfig returns the template of a version and its effective
// app.json and page configs.
func (s *Service) versionConfig(ctx context.Context, v *miniship.Version) (*cachedTemplate, map[string]any, map[string]map[string]any, error) {
	ct, err := s.loadTemplate(ctx, v.PlatformAppID, v.TemplateID, true)
	if err != nil {
		return nil, nil, nil, err
	}
	if v.App != nil && v.Pages != nil {
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
	// No grants: they were checked at commit time and only ever refuse;
	// the merge does not depend on them.
	res, err := extjson.Apply(ct.tpl, v.ExtJSON, extjson.Options{Standard: ct.meta.Type == miniship.TemplateStandard})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("version %d: ext_json no longer applies: %w", v.ID, err)
	}
	return ct, res.App, res.Pages, nil
}

// fillConfig sets v.App and v.Pages from the engine when the version does
// not store them.
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
// titles only when an auto-reject rule is set.
func (s *Service) reviewable(ctx context.Context, v *miniship.Version) error {
	if s.cfg.AutoReject == nil {
		return nil
	}
	return s.fillConfig(ctx, v)
}
