package template

import (
	"bytes"
	"strings"
	"testing"

	"github.com/miniship/miniship/wxerr"
)

func TestConfigBounds(t *testing.T) {
	// nest wraps v in n arrays.
	nest := func(n int, v string) string { return strings.Repeat("[", n) + v + strings.Repeat("]", n) }
	files := func(app string, extra ...string) map[string][]byte {
		m := map[string][]byte{"app.json": []byte(app), "index.js": []byte("Page({})")}
		if len(extra) > 0 {
			m["index.json"] = []byte(extra[0])
		}
		return m
	}
	tests := []struct {
		name  string
		files map[string][]byte
		sub   string // "" when it must pass
	}{
		// The app.json object is level 1: 63 more levels reach the limit.
		{"depth at the limit", files(`{"pages":["index"],"deep":` + nest(MaxConfigDepth-1, "1") + `}`), ""},
		{"one level deeper", files(`{"pages":["index"],"deep":` + nest(MaxConfigDepth, "1") + `}`), "app.json: nests deeper than 64"},
		{"9,000-deep array", files(`{"pages":["index"],"deep":` + nest(9000, "") + `}`), "app.json: nests deeper than 64"},
		{"brackets in strings do not count", files(`{"pages":["index"],"s":"` + strings.Repeat("[{", 5000) + `"}`), ""},
		{"escaped quote in a string", files(`{"pages":["index"],"s":"\"[[[[","deep":` + nest(MaxConfigDepth-1, "1") + `}`), ""},
		{"page json too deep", files(`{"pages":["index"]}`, `{"x":`+nest(MaxConfigDepth, "")+`}`), "index.json: nests deeper"},
		{"app.json too big", files(`{"pages":["index"],"s":"` + strings.Repeat("x", MaxConfigBytes) + `"}`), "app.json: 524"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := New(tc.files, Limits{})
			if tc.sub != "" {
				wantCode(t, err, wxerr.InvalidTemplate, tc.sub)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// What passes builds a package proportional to its input.
			var buf bytes.Buffer
			if err := tp.BuildPackage(&buf, tp.App, nil, nil); err != nil {
				t.Fatal(err)
			}
			if in := len(tc.files["app.json"]); buf.Len() > 50*in+4096 {
				t.Fatalf("a %d-byte app.json made a %d-byte package", in, buf.Len())
			}
		})
	}
}
