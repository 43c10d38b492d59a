package service

import (
	"context"
	"errors"
	"time"

	"github.com/miniship/miniship"
)

// StoredClock returns the manual clock's stored position; ok is false when
// none was stored. serve starts a manual clock there, so a restart neither
// revives tokens that had expired nor delays events that were due.
func StoredClock(ctx context.Context, store miniship.Store) (t time.Time, ok bool, err error) {
	err = store.View(ctx, func(tx miniship.Tx) error {
		t, err = tx.GetClock()
		return err
	})
	if errors.Is(err, miniship.ErrNotFound) {
		return time.Time{}, false, nil
	}
	return t, err == nil, err
}

// SaveClock stores the manual clock's position (never moving the stored one
// backwards).
func (s *Service) SaveClock(ctx context.Context, t time.Time) error {
	return s.update(ctx, func(tx miniship.Tx) error { return tx.PutClock(t) })
}
