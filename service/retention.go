package service

import (
	"context"
	"time"

	"github.com/miniship/miniship"
)

// sweepBatch is how many rows one sweep transaction deletes at most: each
// batch holds the (SQLite) writer for a few milliseconds only.
const sweepBatch = 500

// sweepMedia deletes uploads older than MediaTTL, bytes and all, at most
// once a minute of service time: a mediaid is refused (checkMedia) from
// the moment it expires, so nothing can use them.
func (s *Service) sweepMedia(ctx context.Context) {
	now := s.Now()
	if last := s.lastMediaSweep.Load(); last != 0 && now.Sub(time.Unix(0, last)) < time.Minute {
		return
	}
	s.lastMediaSweep.Store(now.UnixNano())
	if _, err := s.sweep(ctx, func(tx miniship.Tx) (int64, error) {
		return tx.DeleteMediaBefore(now.Add(-s.cfg.MediaTTL), sweepBatch)
	}); err != nil && ctx.Err() == nil {
		s.log.Error("sweep media", "err", err)
	}
}

// sweep runs a batch delete in its own transactions until a batch comes
// back short, and returns how many rows it deleted.
func (s *Service) sweep(ctx context.Context, batch func(tx miniship.Tx) (int64, error)) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.update(ctx, func(tx miniship.Tx) (err error) {
			n, err = batch(tx)
			return err
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}
