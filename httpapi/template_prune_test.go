package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/service"
)

// TestTemplatePrune: a loop of addtotemplate and deletetemplate leaves no
// rows behind. A deleted template goes a minute after its deletion, by the
// prune (which reports it) or the platform's next addtotemplate, unless a
// version names it: then it stays, and the version answers, until that
// version has gone too. A removed template answers as a deleted one.
func TestTemplatePrune(t *testing.T) { mstest.Backends(t, testTemplatePrune) }

func testTemplatePrune(t *testing.T, database string) {
	e := arSetup(t, mstest.Options{Database: database}, nil)
	ctoken := componentToken(t, e.s, e.p.AppID, e.p.Secret)
	drafts := e.ok("GET", "/wxa/gettemplatedraftlist", "", ctoken)["draft_list"].([]any)
	draft := arInt(t, drafts[0].(map[string]any), "draft_id")
	add := func() int64 {
		t.Helper()
		e.ok("POST", "/wxa/addtotemplate", fmt.Sprintf(`{"draft_id":%d}`, draft), ctoken)
		list := e.ok("GET", "/wxa/gettemplatelist", "", ctoken)["template_list"].([]any)
		return arInt(t, list[len(list)-1].(map[string]any), "template_id")
	}
	del := func(id int64) {
		t.Helper()
		e.ok("POST", "/wxa/deletetemplate", fmt.Sprintf(`{"template_id":%d}`, id), ctoken)
	}
	rows := func() int64 { return tableRows(t, e.s, "templates") }
	prune := func(want int) {
		t.Helper()
		st, m := admin(t, e.s, "POST", "/miniship/v1/storage/prune", nil)
		if got, _ := m["pruned"].(map[string]any)["templates"].(float64); st != http.StatusOK || int(got) != want {
			t.Fatalf("prune: HTTP %d %v, want %d templates", st, m, want)
		}
	}

	live := e.tpl
	used := add()
	e.tpl = used
	e.commit("1.0.0", "")
	del(used)
	const loops = 30
	for range loops {
		del(add())
	}
	if got := rows(); got != loops+2 {
		t.Fatalf("%d templates before the minute passed, want %d", got, loops+2)
	}
	e.s.Clock.Advance(time.Minute + time.Second)
	prune(loops)
	if got := rows(); got != 2 {
		t.Fatalf("%d templates after the prune, want 2: the live one and the one a version names", got)
	}
	e.ok("GET", "/wxa/get_page", "") // the version of the deleted template
	e.tpl = live
	for i := range service.KeepVersions {
		e.commit(fmt.Sprintf("2.0.%d", i), "")
	}
	prune(1)
	if got := rows(); got != 1 {
		t.Fatalf("%d templates once no version named the deleted one, want 1", got)
	}
	e.fails(85014, "POST", "/wxa/commit", fmt.Sprintf(`{"template_id":%d,"ext_json":"{}","user_version":"3","user_desc":"d"}`, used))
	e.fails(85064, "POST", "/wxa/deletetemplate", fmt.Sprintf(`{"template_id":%d}`, used), ctoken)

	// Without a prune, each addtotemplate takes the platform's deleted
	// templates of more than a minute ago.
	for range loops {
		del(add())
		e.s.Clock.Advance(time.Minute + time.Second)
	}
	if got := rows(); got != 2 {
		t.Fatalf("%d templates after a slow loop, want 2: the live one and the last deleted", got)
	}
}
