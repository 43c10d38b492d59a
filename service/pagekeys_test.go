package service_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestAuthorizerListPages: pages that start where an earlier one ended or
// began (from the remembered key) list exactly what an offset into the
// current order lists, while grants come (last, or in the same instant as
// others) and go between the pages.
func TestAuthorizerListPages(t *testing.T) {
	mstest.Backends(t, func(t *testing.T, db string) {
		s := mstest.New(t, mstest.Options{Database: db})
		ctx := context.Background()
		p := s.Platform(t, nil)
		c := &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: p.AppID}
		next := 0
		grant := func() {
			s.MiniProgram(t, p.AppID, &miniship.Authorizer{AppID: fmt.Sprintf("wxpage%06d", rand.IntN(1000000)),
				Categories: []miniship.Category{}})
			next++
			if next%3 == 0 {
				s.Advance(time.Second) // the others share an instant
			}
		}
		for range 12 {
			grant()
		}
		want := func() []string {
			var ids []string
			if err := s.Store.View(ctx, func(tx miniship.Tx) error {
				as, err := tx.ListAuthorizations(p.AppID)
				for _, a := range as {
					ids = append(ids, a.AuthorizerAppID)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ids
		}
		check := func(round, off int) int {
			t.Helper()
			l, err := s.Service.ListAuthorizers(ctx, c, p.AppID, off, 3)
			if err != nil {
				t.Fatal(err)
			}
			all := want()
			var got []string
			for _, it := range l.List {
				got = append(got, it.AuthorizerAppID)
			}
			if w := all[min(off, len(all)):min(off+3, len(all))]; !slices.Equal(got, w) || l.TotalCount != len(all) {
				t.Fatalf("round %d, offset %d: %v of %d, want %v of %d", round, off, got, l.TotalCount, w, len(all))
			}
			return len(got)
		}
		for round := range 30 {
			for off := 0; check(round, off) > 0; off += 3 {
				// An offset anywhere, twice (the second from its key).
				r := rand.IntN(len(want()) + 2)
				check(round, r)
				check(round, r)
				switch rand.IntN(4) { // a change between two pages
				case 0:
					grant()
				case 1:
					all := want()
					if len(all) == 0 {
						break
					}
					if err := s.Service.Unauthorize(ctx, p.AppID, all[rand.IntN(len(all))]); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	})
}
