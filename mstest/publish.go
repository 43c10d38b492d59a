package mstest

import (
	"context"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/service"
)

// Publish takes a mini program's code live in a line: commit of the
// template with extJSON ("" for {}), the end of the privacy scan (the
// clock moves), submit_audit under its first approved category, the
// reviewer's approval and release. What the code needs must be set up
// first (GrantPrivacyAPI, Category, Plugin; the default mini programs
// have a guide and a category). It returns the auditid; an audit the
// reviewer rejects (a missing guide) fails the test with its reason.
func (s *Server) Publish(t testing.TB, platform, appid string, templateID int64, extJSON, version string) int64 {
	t.Helper()
	ctx := context.Background()
	c := &service.Caller{Kind: miniship.AuthorizerToken, PlatformAppID: platform, AuthorizerAppID: appid}
	if extJSON == "" {
		extJSON = "{}"
	}
	if err := s.Service.Commit(ctx, c, service.CommitRequest{TemplateID: templateID, ExtJSON: extJSON, UserVersion: version, UserDesc: "mstest"}); err != nil {
		t.Fatalf("mstest: publish: commit: %v", err)
	}
	s.Advance(s.Service.Config().ScanDuration)
	cats, err := s.Service.GetCategory(ctx, c)
	if err != nil || len(cats) == 0 {
		t.Fatalf("mstest: publish: no approved category (%v): add one with Category", err)
	}
	k := cats[0]
	id, err := s.Service.SubmitAudit(ctx, c, service.SubmitAuditRequest{ItemList: []service.AuditItem{{Address: "pages/index/index", Title: "mstest",
		FirstClass: k.FirstClass, SecondClass: k.SecondClass, ThirdClass: k.ThirdClass, FirstID: k.FirstID, SecondID: k.SecondID, ThirdID: k.ThirdID}}})
	if err != nil {
		t.Fatalf("mstest: publish: submit_audit: %v", err)
	}
	a, err := s.Service.DecideAudit(ctx, id, service.Decision{Result: service.DecisionApprove})
	if err != nil {
		t.Fatalf("mstest: publish: approve: %v", err)
	}
	if a.Status != miniship.AuditApproved {
		t.Fatalf("mstest: publish: the reviewer rejected audit %d: %s", id, a.Reason)
	}
	if err := s.Service.Release(ctx, c); err != nil {
		t.Fatalf("mstest: publish: release: %v", err)
	}
	return id
}
