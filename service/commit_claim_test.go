package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/wxerr"
)

// failingStore fails CreateVersion while fail is set, as a full disk or a
// lost database connection would fail the last step of a commit.
type failingStore struct {
	miniship.Store
	fail atomic.Bool
}

func (s *failingStore) Update(ctx context.Context, fn func(miniship.Tx) error) error {
	return s.Store.Update(ctx, func(tx miniship.Tx) error { return fn(failingTx{tx, s}) })
}

type failingTx struct {
	miniship.Tx
	s *failingStore
}

func (t failingTx) CreateVersion(v *miniship.Version) error {
	if t.s.fail.Load() {
		return errors.New("disk full")
	}
	return t.Tx.CreateVersion(v)
}

// TestCommitClaimReleasedOnFailure: with a modelled build time, a commit
// whose last transaction fails gives its claim back. It used to keep the
// mini program at 9402202 for a minute of service time, which on a manual
// clock is until someone moves it.
func TestCommitClaimReleasedOnFailure(t *testing.T) {
	ctx := context.Background()
	store := &failingStore{}
	svc, _, seeded := demoService(t, service.Config{CommitLatency: time.Millisecond},
		func(inner miniship.Store) miniship.Store { store.Store = inner; return store })
	c := demoCaller(demo.ShopA)
	req := service.CommitRequest{TemplateID: seeded.TemplateID, ExtJSON: `{"ext":{"shopName":"A"}}`, UserVersion: "1.0.0"}

	store.fail.Store(true)
	if err := svc.Commit(ctx, c, req); err == nil {
		t.Fatal("commit with a failing store succeeded")
	}
	store.fail.Store(false)
	if err := svc.Commit(ctx, c, req); err != nil {
		t.Fatalf("commit after a failed one: %v (errcode %d)", err, wxerr.From(err).Code)
	}
}
