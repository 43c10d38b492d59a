package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestGrantExclusivity: exclusive sets go to the first platform that asks
// and stay there until that platform's grant drops them; a platform's own
// hold never blocks its re-authorization; shared sets go to everyone.
func TestGrantExclusivity(t *testing.T) { mstest.Backends(t, testGrantExclusivity) }

func testGrantExclusivity(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	ctx := context.Background()
	a, b := s.Platform(t, nil).AppID, s.Platform(t, nil).AppID
	mp, err := s.Service.CreateAuthorizer(ctx, &miniship.Authorizer{AppID: "wxgrantee00000001"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		platform string
		ask      []int
		granted  []int
		withheld string
	}{
		{a, []int{18, 40, 17}, []int{17, 18, 40}, "[]"},
		{b, []int{18, 30, 40}, []int{30}, fmt.Sprintf("[{18 %s} {40 %s}]", a, a)},
		{a, []int{18, 17}, []int{17, 18}, "[]"}, // A's own hold; A drops 40
		{b, []int{40, 17, 18}, []int{17, 40}, fmt.Sprintf("[{18 %s}]", a)},
		{a, []int{18, 40}, []int{18}, fmt.Sprintf("[{40 %s}]", b)},
	}
	for i, st := range steps {
		g, err := s.Service.Grant(ctx, st.platform, mp.AppID, st.ask)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !slices.Equal(g.PermissionSets, st.granted) || fmt.Sprint(g.Withheld) != st.withheld {
			t.Fatalf("step %d: granted %v withheld %v, want %v %s", i, g.PermissionSets, g.Withheld, st.granted, st.withheld)
		}
	}
	if _, err := s.Service.Grant(ctx, b, mp.AppID, []int{18}); !errors.Is(err, miniship.ErrConflict) {
		t.Fatalf("a grant left empty: %v, want ErrConflict", err)
	}
	if _, err := s.Service.Grant(ctx, b, mp.AppID, []int{17, 2}); !errors.Is(err, service.ErrInvalid) {
		t.Fatalf("set 2: %v, want ErrInvalid", err)
	}
}

// TestConsentBurnsCodeAfterWrongSecrets: the fifth wrong secret uses the
// pre_auth_code up; the counting survives the failing transactions.
func TestConsentBurnsCodeAfterWrongSecrets(t *testing.T) {
	mstest.Backends(t, testConsentBurnsCodeAfterWrongSecrets)
}

func testConsentBurnsCodeAfterWrongSecrets(t *testing.T, database string) {
	s := mstest.New(t, mstest.Options{Database: database})
	ctx := context.Background()
	p := s.Platform(t, nil)
	mp, _ := s.MiniProgram(t, p.AppID, nil)
	pre, err := s.Service.CreatePreAuthCode(ctx, &service.Caller{Kind: miniship.ComponentToken, PlatformAppID: p.AppID}, p.AppID)
	if err != nil {
		t.Fatal(err)
	}
	req := service.ConsentRequest{Platform: p.AppID, PreAuthCode: pre.Code, AuthorizerAppID: mp.AppID, Secret: "not-the-secret-000", PermissionSets: []int{18}}
	for i := range 5 {
		var ce *service.ConsentError
		if _, err := s.Service.Consent(ctx, req); !errors.As(err, &ce) || !ce.SignIn {
			t.Fatalf("wrong secret %d: %v", i+1, err)
		}
	}
	var used bool
	if err := s.Store.View(ctx, func(tx miniship.Tx) error {
		tk, err := tx.GetToken(miniship.PreAuthCode, pre.Code)
		if tk != nil {
			used = tk.Used
		}
		return err
	}); err != nil || !used {
		t.Fatalf("pre_auth_code used after 5 wrong secrets: %v (%v)", used, err)
	}
	req.Secret = mp.Secret
	if _, err := s.Service.Consent(ctx, req); err == nil {
		t.Fatal("the right secret worked with a burnt code")
	}
}

// TestDefaultSetsAreWeChats: the sets granted when none are named are all
// in WeChat's table, which is sorted (LookupPermissionSet searches it).
func TestDefaultSetsAreWeChats(t *testing.T) {
	for _, id := range service.New(service.Options{}).Config().DefaultPermissionSets {
		if _, ok := miniship.LookupPermissionSet(id); !ok {
			t.Errorf("default set %d is not in miniship.PermissionSets()", id)
		}
	}
	all := miniship.PermissionSets()
	if !slices.IsSortedFunc(all, func(a, b miniship.PermissionSet) int { return a.ID - b.ID }) {
		t.Fatal("the permission set table is not sorted by id")
	}
	if ps, ok := miniship.LookupPermissionSet(18); !ok || !ps.Exclusive {
		t.Fatalf("set 18: %+v %v", ps, ok)
	}
	if ps, ok := miniship.LookupPermissionSet(17); !ok || ps.Exclusive {
		t.Fatalf("set 17: %+v %v", ps, ok)
	}
}
