package httpapi_test

import (
	"sync"
	"testing"

	"github.com/miniship/miniship/mstest"
)

// TestConcurrentGrantRequests: the same application sent at once from
// several clients is stored once; the others get the documented refusal
// (61031, 53304, 89237), never a system error or a duplicate row.
func TestConcurrentGrantRequests(t *testing.T) { mstest.Backends(t, testConcurrentGrantRequests) }

func testConcurrentGrantRequests(t *testing.T, database string) {
	e, _, mp, tok := grSetup(t, database)
	for _, c := range []struct {
		path, body string
		refusal    int
	}{
		{"/wxa/security/apply_privacy_interface", `{"api_name":"wx.getLocation","content":"x","url_list":["https://a.cn"]}`, 61031},
		{"/cgi-bin/wxopen/addcategory", `{"categories":[{"first":36,"second":37,"certicates":[{"key":"k","value":"v"}]}]}`, 53304},
		{"/wxa/plugin", `{"action":"apply","plugin_appid":"wx0123456789abcdef"}`, 89237},
	} {
		const n = 6
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = arCode(e.call("POST", c.path, c.body, tok))
			}()
		}
		wg.Wait()
		ok := 0
		for _, code := range codes {
			switch code {
			case 0:
				ok++
			case c.refusal:
			default:
				t.Fatalf("%s: errcode %d among %v", c.path, code, codes)
			}
		}
		if ok != 1 {
			t.Fatalf("%s: %d successes among %v, want 1", c.path, ok, codes)
		}
	}
	for _, path := range []string{"privacy-applications", "category-applications", "plugin-applications"} {
		if _, q := e.admin("GET", "/miniship/v1/"+path+"?authorizer="+mp.AppID, nil); len(grList(t, q, "applications")) != 1 {
			t.Fatalf("%s: %v, want one", path, q)
		}
	}
}
