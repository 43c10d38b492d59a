package service

import (
	"context"
	"fmt"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxerr"
)

// commitOnce is Commit without a modelled build time: one write
// transaction and, once the server has seen the template and the mini
// program, no other. The engine runs before it, on the parsed template
// from the cache and on the mini program's grants as last read; the
// transaction then reads in one statement (LockForCommit) what may have
// changed since — the caller's grant, the template's deletion, a commit
// claim, the grants' revision — and runs the engine again, inside, only
// when the grants moved (admin changes, rare). So a commit costs what it
// did in checks and errcodes, and 9402202 keeps its meaning: the row lock
// (PostgreSQL) or the single writer (SQLite) orders commits of one mini
// program, and a live claim of a commit with a build time is honoured.
func (s *Service) commitOnce(ctx context.Context, c *Caller, req CommitRequest) error {
	ct, err := s.commitTemplate(ctx, c.PlatformAppID, req.TemplateID)
	if err != nil {
		return err
	}
	g, err := s.engineGrants(ctx, c.AuthorizerAppID, false)
	if err != nil {
		return err
	}
	v, err := s.runEngine(ct, c, g.a, req)
	if err != nil {
		// A deleted template is 85014 before anything its code would get
		// (the cached template does not know it was deleted).
		if _, terr := s.loadTemplate(ctx, c.PlatformAppID, req.TemplateID, false); terr != nil {
			return terr
		}
		// Judge a refusal by the grants as they are now, not as cached.
		fresh, ferr := s.engineGrants(ctx, c.AuthorizerAppID, true)
		if ferr != nil || fresh.rev == g.rev {
			return err
		}
		g = fresh
		if v, err = s.runEngine(ct, c, g.a, req); err != nil {
			return err
		}
	}
	if ok, err := s.commitFast(ctx, c, v, g.rev); ok || err != nil {
		return err
	}
	var fresh *miniship.Authorizer
	err = s.update(ctx, func(tx miniship.Tx) error {
		fresh = nil
		st, err := tx.LockForCommit(c.PlatformAppID, c.AuthorizerAppID, req.TemplateID)
		if err != nil {
			return err
		}
		if c.pending != nil {
			if err := c.grant(st.Authorization); err != nil {
				return err
			}
		}
		if !st.TemplateFound || st.TemplateDeleted {
			return wxerr.New(wxerr.TemplateNotExist, fmt.Sprintf("template_id %d", req.TemplateID))
		}
		if s.Now().Before(st.CommitUntil) {
			return errCommitting
		}
		cv := *v // a rerun of this function starts from the engine's output again
		if st.GrantsRev != g.rev {
			a, err := tx.GetAuthorizer(c.AuthorizerAppID)
			if err != nil {
				return err
			}
			nv, err := s.runEngine(ct, c, a, req)
			if err != nil {
				return err
			}
			cv, fresh = *nv, a
		}
		now := s.Now()
		cv.CreatedAt, cv.ScanDoneAt = now, now.Add(s.cfg.ScanDuration)
		if err := tx.CreateVersion(&cv); err != nil {
			return err
		}
		if keep := s.trimKeep(c.AuthorizerAppID); keep > 0 {
			if _, err := tx.TrimVersions(c.AuthorizerAppID, keep); err != nil {
				return err
			}
		}
		if st.CommitUntil.IsZero() {
			return nil
		}
		// The expired claim of a commit that died half-way: clear it, as
		// the commit that finishes does.
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		a.CommitUntil = time.Time{}
		return tx.UpdateAuthorizer(a)
	})
	if err == nil && fresh != nil {
		s.grants.put(fresh)
	}
	return err
}

// commitTemplate is the parsed template from the cache when this server
// has it; its deletion is checked in the commit's transaction. Otherwise
// it is loaded (and checked) as every other reader does.
func (s *Service) commitTemplate(ctx context.Context, platform string, id int64) (*cachedTemplate, error) {
	ct, ok := s.tplCache.get(id)
	if ok && ct.meta.PlatformAppID == platform {
		return ct, nil
	}
	return s.loadTemplate(ctx, platform, id, false)
}

// engineGrants returns the mini program's grants for the engine, from the
// cache unless reread.
func (s *Service) engineGrants(ctx context.Context, appid string, reread bool) (grantsEntry, error) {
	if !reread {
		if g, ok := s.grants.get(appid); ok {
			return g, nil
		}
	}
	var a *miniship.Authorizer
	err := s.view(ctx, func(tx miniship.Tx) (err error) {
		a, err = tx.GetAuthorizer(appid)
		return err
	})
	if err != nil {
		return grantsEntry{}, err
	}
	s.grants.put(a)
	return grantsEntry{rev: a.GrantsRev, a: a}, nil
}

// commitFast stores the version in one statement (CreateVersionIf: one
// round trip on PostgreSQL, no BEGIN, lock or COMMIT) when nothing stands in
// its way: no commit claim, the grants the engine ran on, the template in
// the library, the grant the caller's token came from. ok false sends the
// commit down the checked transaction, which finds out why and answers as
// it always did; the statement's own atomicity orders it against a revoke
// or a claim as the row lock would.
func (s *Service) commitFast(ctx context.Context, c *Caller, v *miniship.Version, rev int64) (ok bool, err error) {
	p := c.pending
	if p == nil || len(p.perms) > 1 || (len(p.perms) == 1 && p.perms[0] == 0) {
		return false, nil // the statement tests one permission set, or none
	}
	check := miniship.CommitCheck{GrantsRev: rev, Generation: p.token.Generation, TokenCreatedAt: p.token.CreatedAt,
		TokenSeqBelow: p.token.Seq + KeepAccessTokens, KeepVersions: s.trimKeep(c.AuthorizerAppID)}
	if len(p.perms) == 1 {
		check.Perm = p.perms[0]
	}
	cv := *v
	now := s.Now()
	cv.CreatedAt, cv.ScanDoneAt = now, now.Add(s.cfg.ScanDuration)
	return s.store.CreateVersionIf(ctx, &cv, check)
}
