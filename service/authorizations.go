package service

import (
	"context"
	"fmt"

	"github.com/miniship/miniship"
)

// Authorizations lists a platform's grants with their refresh tokens, for
// the admin API: tools such as `miniship rollout --admin-key` read them
// there instead of having them copied from the consent flow.
func (s *Service) Authorizations(ctx context.Context, platform string) ([]*miniship.Authorization, error) {
	var out []*miniship.Authorization
	err := s.view(ctx, func(tx miniship.Tx) error {
		if _, err := tx.GetPlatform(platform); err != nil {
			return fmt.Errorf("platform %s: %w", platform, err)
		}
		var err error
		out, err = tx.ListAuthorizations(platform)
		return err
	})
	return out, err
}
