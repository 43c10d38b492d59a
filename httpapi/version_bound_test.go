package httpapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestVersionBound: a mini program that commits without end keeps
// service.MaxVersions versions (and up to service.TrimEvery more, between
// two of its trims), service.KeepVersions after a prune, and,
// older, those the API can still show: its rollback target, its online
// version, its gray version and the one in review; each still answers and
// can still be acted on.
func TestVersionBound(t *testing.T) { mstest.Backends(t, testVersionBound) }

func testVersionBound(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	life := func(version string) int64 {
		e.commit(version, "")
		e.scanned()
		return e.submit()
	}
	e.approve(life("1.0.0"))
	e.ok("POST", "/wxa/release", `{}`)
	e.approve(life("1.1.0"))
	e.ok("POST", "/wxa/release", `{}`) // 1.0.0 is the rollback target
	e.approve(life("1.2.0"))
	e.ok("POST", "/wxa/grayrelease", `{"gray_percentage":10}`)
	a4 := life("1.3.0") // in review
	const commits = service.MaxVersions + 3*service.TrimEvery
	for i := range commits {
		e.commit(fmt.Sprintf("2.0.%d", i), "")
	}
	versions := func() int64 { return tableRows(t, e.s, "versions") }
	kept := versions()
	if low, high := int64(service.MaxVersions+4), int64(service.MaxVersions+service.TrimEvery-1+4); kept < low || kept > high {
		t.Fatalf("%d versions kept after %d commits, want %d to %d: the newest, up to a trim's worth more, and the four the API shows", kept, commits, low, high)
	}
	if n, err := e.s.Service.Prune(context.Background()); err != nil || n["versions"] != kept-int64(service.KeepVersions+4) {
		t.Fatalf("prune: %v %v", n, err)
	}
	if got, want := versions(), int64(service.KeepVersions+4); got != want {
		t.Fatalf("%d versions after the prune, want %d", got, want)
	}

	latest := e.ok("GET", "/wxa/get_latest_auditstatus", "")
	if arInt(t, latest, "auditid") != a4 || arStr(latest, "user_version") != "1.3.0" {
		t.Fatalf("latest audit: %v", latest)
	}
	e.wantStatus(a4, 2)
	info := e.ok("POST", "/wxa/getversioninfo", `{}`)
	if v := arStr(info["exp_info"].(map[string]any), "exp_version"); v != fmt.Sprintf("2.0.%d", commits-1) {
		t.Fatalf("experience version %q: %v", v, info)
	}
	e.ok("GET", "/wxa/get_page", "")
	plan := e.ok("GET", "/wxa/getgrayreleaseplan", "")["gray_release_plan"].(map[string]any)
	if arInt(t, plan, "status") != 1 || arInt(t, plan, "gray_percentage") != 10 {
		t.Fatalf("gray plan: %v", plan)
	}
	e.ok("GET", "/wxa/revertgrayrelease", "") // rollback waits for no gray plan
	hist := e.ok("GET", "/wxa/revertcoderelease?action=get_history_version", "")["version_list"].([]any)
	if len(hist) != 1 || arStr(hist[0].(map[string]any), "user_version") != "1.0.0" {
		t.Fatalf("rollback history: %v", hist)
	}
	e.ok("GET", "/wxa/revertcoderelease", "")
	if v := e.online(); v != "1.0.0" {
		t.Fatalf("online %q after rollback", v)
	}
	e.approve(a4)
	e.ok("POST", "/wxa/release", `{}`)
	if v := e.online(); v != "1.3.0" {
		t.Fatalf("online %q, want the reviewed 1.3.0", v)
	}
	if got, want := versions(), int64(service.KeepVersions+4); got != want {
		t.Fatalf("%d versions at the end, want %d", got, want)
	}
}

// tableRows counts a table's rows, as GET /miniship/v1/storage does.
func tableRows(t *testing.T, s *mstest.Server, table string) int64 {
	t.Helper()
	var n int64
	if err := s.Store.View(context.Background(), func(tx miniship.Tx) error {
		sizes, err := tx.TableSizes()
		n = sizes[table]
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
