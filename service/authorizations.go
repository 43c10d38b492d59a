package service

import (
	"context"
	"fmt"

	"github.com/miniship/miniship"
)

// The admin list of authorizations is paged: limit 0 means the default, and
// more than the most is that many (the cursor tells the client to go on).
const (
	defaultAuthorizationsPage = 1000
	maxAuthorizationsPage     = 10000
)

// AuthorizationsPage is one page of a platform's grants.
type AuthorizationsPage struct {
	Authorizations []*miniship.Authorization
	// NextAfter is the cursor of the next page: "" when this one is the last.
	NextAfter string
}

// Authorizations pages a platform's grants with their refresh tokens in
// authorizer appid order from after, for the admin API: tools such as
// `miniship rollout --admin-key` read them there instead of having them
// copied from the consent flow. A page is a seek in the primary key, so a
// fleet of a million is walked at the same cost per page throughout.
func (s *Service) Authorizations(ctx context.Context, platform, after string, limit int) (*AuthorizationsPage, error) {
	if limit <= 0 {
		limit = defaultAuthorizationsPage
	}
	limit = min(limit, maxAuthorizationsPage)
	out := &AuthorizationsPage{}
	err := s.view(ctx, func(tx miniship.Tx) error {
		if _, err := tx.GetPlatform(platform); err != nil {
			return fmt.Errorf("platform %s: %w", platform, err)
		}
		// One more than the page says whether another follows.
		as, err := tx.ListAuthorizationsAfter(platform, after, limit+1)
		if len(as) > limit {
			as = as[:limit]
			out.NextAfter = as[limit-1].AuthorizerAppID
		}
		out.Authorizations = as
		return err
	})
	return out, err
}
