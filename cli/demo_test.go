package cli

import (
	"strings"
	"testing"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/demo"
)

// TestShopBNote: the banner tells how to grant shop B while its commits
// answer 85312, and says it is granted after a restart that finds it so.
func TestShopBNote(t *testing.T) {
	for _, c := range []struct {
		apis []string
		want string
	}{
		{nil, "answers 85312"},
		{[]string{"chooseAddress"}, "answers 85312"},
		{[]string{"getLocation"}, "has the getLocation privacy grant"},
	} {
		note := shopBNote([]*miniship.Authorizer{{AppID: demo.ShopA, PrivacyAPIs: []string{"getLocation"}}, {AppID: demo.ShopB, PrivacyAPIs: c.apis}})
		if !strings.Contains(note, c.want) {
			t.Errorf("grants %v: note %q, want %q in it", c.apis, note, c.want)
		}
	}
}
