package extjson

import (
	"testing"

	"github.com/miniship/miniship/wxerr"
)

// TestWeUIExtendedLib: "useExtendedLib": {"weui": true} needs the weui
// plugin granted, whatever the version; false or absent needs nothing.
func TestWeUIExtendedLib(t *testing.T) {
	withWeUI := grants{plugins: map[string][]string{WeUIAppID: {"1.0.0"}}}
	cases := []struct {
		name, app string
		g         grants
		code      wxerr.Code
	}{
		{"weui granted", `{"pages":["p/i"],"useExtendedLib":{"weui":true}}`, withWeUI, 0},
		{"weui not granted", `{"pages":["p/i"],"useExtendedLib":{"weui":true}}`, grants{}, wxerr.PluginNoPermission},
		{"weui off", `{"pages":["p/i"],"useExtendedLib":{"weui":false}}`, grants{}, 0},
		{"no extended lib", `{"pages":["p/i"]}`, grants{}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := c.g
			// A grant of any version allows the library, which names none.
			if vs, ok := g.plugins[WeUIAppID]; ok {
				g.plugins = map[string][]string{WeUIAppID: append(vs, "")}
			}
			_, err := Apply(memTpl(t, c.app, "p/i"), `{}`, Options{Grants: g})
			if got := wxerr.CodeOf(err); got != c.code {
				t.Fatalf("errcode %d, want %d (%v)", got, c.code, err)
			}
		})
	}
}
