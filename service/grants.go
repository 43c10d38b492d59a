package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/miniship/miniship"
)

// Grants a mini program applies for around the core (privacy APIs,
// categories, plugins) share one decision model: an application waits,
// then the reviewer (admin API, or the AutoGrant rule; for plugins also
// the plugin's developer through /wxa/devplugin) approves or rejects it.
// An approval copies the grant into the Authorizer's PrivacyAPIs,
// Categories or Plugins in the same transaction, so commit and
// submit_audit keep reading one place, whether the grant came from the API
// or was set directly through the admin API.

// PermPlugin is the permission set of /wxa/plugin and /wxa/devplugin.
const PermPlugin = 40

// GrantKind names the kind of an application in the admin API.
type GrantKind string

const (
	GrantPrivacy  GrantKind = "privacy"
	GrantCategory GrantKind = "category"
	GrantPlugin   GrantKind = "plugin"
)

// GrantDecision is the reviewer's verdict on an application.
type GrantDecision struct {
	Result string `json:"result"` // approve or reject
	Reason string `json:"reason"`
}

func (d GrantDecision) check() error {
	if d.Result != DecisionApprove && d.Result != DecisionReject {
		return invalidf("result must be approve or reject, not %q", d.Result)
	}
	return nil
}

// errNotPending answers a decision on an application that is not waiting.
func errNotPending(what string, status int) error {
	return fmt.Errorf("%w: %s has status %d; a decision needs status 1 (pending)", miniship.ErrConflict, what, status)
}

// grantPush queues a push about one mini program to the platform's message URL.
func (s *Service) grantPush(tx miniship.Tx, platform string, m *miniship.Authorizer, kind string, msg any) error {
	p, err := tx.GetPlatform(platform)
	if errors.Is(err, miniship.ErrNotFound) {
		return nil // a grant set up without a platform (admin API) has nobody to tell
	}
	if err != nil {
		return err
	}
	return s.enqueue(tx, miniProgramEvent(p, m, kind, msg))
}

// AutoGrant approves the applications that have waited Config.AutoGrant on
// the service clock. Tick calls it; each decision is its own transaction
// and rereads the application, so a reviewer deciding at the same moment
// wins cleanly.
func (s *Service) AutoGrant(ctx context.Context) error {
	if s.cfg.AutoGrant <= 0 {
		return nil
	}
	due := s.Now().Add(-s.cfg.AutoGrant)
	var (
		privacy []int64
		cats    []*miniship.CategoryApplication
		plugins []*miniship.PluginApplication
	)
	err := s.view(ctx, func(tx miniship.Tx) error {
		ps, err := tx.ListPrivacyApplications("", miniship.ApplyPending, 0)
		for _, p := range ps {
			if !p.AppliedAt.After(due) {
				privacy = append(privacy, p.ID)
			}
		}
		cs, err2 := tx.ListCategoryApplications("", miniship.ApplyPending, 0)
		for _, c := range cs {
			if !c.AppliedAt.After(due) {
				cats = append(cats, c)
			}
		}
		pls, err3 := tx.ListPluginApplications("", "", miniship.ApplyPending, 0)
		for _, p := range pls {
			if !p.AppliedAt.After(due) {
				plugins = append(plugins, p)
			}
		}
		return errors.Join(err, err2, err3)
	})
	approve := GrantDecision{Result: DecisionApprove}
	// A conflict means the reviewer decided first: not an error.
	skip := func(err error) error {
		if errors.Is(err, miniship.ErrConflict) {
			return nil
		}
		return err
	}
	for _, id := range privacy {
		_, e := s.DecidePrivacyApplication(ctx, id, approve)
		err = errors.Join(err, skip(e))
	}
	for _, c := range cats {
		_, e := s.DecideCategory(ctx, c.AuthorizerAppID, c.First, c.Second, approve)
		err = errors.Join(err, skip(e))
	}
	for _, p := range plugins {
		_, e := s.DecidePlugin(ctx, p.AuthorizerAppID, p.PluginAppID, approve)
		err = errors.Join(err, skip(e))
	}
	if err != nil {
		return fmt.Errorf("auto grant: %w", err)
	}
	return nil
}

// GrantFilter selects applications for the reviewer's queue.
type GrantFilter struct {
	Authorizer string
	Plugin     string // plugins only
	Status     int    // 0 for every status
	Limit      int
}

// ListPrivacyApplications is the reviewer's queue of privacy-API applications.
func (s *Service) ListPrivacyApplications(ctx context.Context, f GrantFilter) (out []*miniship.PrivacyApplication, err error) {
	err = s.view(ctx, func(tx miniship.Tx) error {
		out, err = tx.ListPrivacyApplications(f.Authorizer, f.Status, f.Limit)
		return err
	})
	return out, err
}

// ListCategoryApplications is the reviewer's queue of category reviews.
func (s *Service) ListCategoryApplications(ctx context.Context, f GrantFilter) (out []*miniship.CategoryApplication, err error) {
	err = s.view(ctx, func(tx miniship.Tx) error {
		out, err = tx.ListCategoryApplications(f.Authorizer, f.Status, f.Limit)
		return err
	})
	return out, err
}

// ListPluginApplications is the reviewer's queue of plugin applications.
func (s *Service) ListPluginApplications(ctx context.Context, f GrantFilter) (out []*miniship.PluginApplication, err error) {
	err = s.view(ctx, func(tx miniship.Tx) error {
		out, err = tx.ListPluginApplications(f.Authorizer, f.Plugin, f.Status, f.Limit)
		return err
	})
	return out, err
}

// addUnique appends v unless present.
func addUnique[T comparable](list []T, v T) []T {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
