package extjson

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/miniship/miniship/wxerr"
)

// documented lists every errcode Apply may return.
var documented = map[wxerr.Code]bool{
	wxerr.ExtJSONParseFail: true, wxerr.StandardTemplateExtJSON: true, wxerr.InvalidExtJSON: true,
	wxerr.PagesEmpty: true, wxerr.ExtJSONPathNotExist: true, wxerr.TabBarPagePathMissing: true,
	wxerr.WrongPrivateAPIName: true, wxerr.PrivateAPIMutuallyExcl: true, wxerr.PrivateAPINotAuthorized: true,
	wxerr.PluginNotFound: true, wxerr.PluginNoPermission: true, wxerr.PluginVersionInvalid: true,
}

// FuzzApply: any ext_json gives a serialisable result whose pages all belong
// to the template, or one documented errcode; the template never changes.
func FuzzApply(f *testing.F) {
	paths, _ := filepath.Glob("testdata/samples/*")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(string(b), false, false)
	}
	for _, s := range []string{
		`{"pages":["pages/index/index"],"tabBar":{"list":[{"pagePath":"pages/index/index"}]}}`,
		`{"subPackages":[{"root":"shop/","pages":["cart/cart"],"plugins":{"a":{"provider":"wxknown","version":"1"}}}]}`,
		`{"requiredPrivateInfos":["getFuzzyLocation","chooseAddress"],"plugins":{"chat":{"provider":"wxchat","version":"2.0.0"}}}`,
		`{"extPages":{"shop/cart/cart":{"a":[{"b":null}]}},"window":{"x":1e999}}`,
		`{"entryPagePath":"shop/cart/cart","navigateToMiniProgaramAppIdList":["wx1"]}`,
	} {
		f.Add(s, false, true)
	}
	tp := tpl(f, "shop")
	before := js(tp.App) + js(tp.PageConfigs)
	f.Fuzz(func(t *testing.T, ext string, standard, withGrants bool) {
		opt := Options{Standard: standard}
		if withGrants {
			opt.Grants = allGranted
		}
		res, err := Apply(tp, ext, opt)
		if err != nil {
			if e := wxerr.From(err); !documented[e.Code] || e.Msg == "" {
				t.Fatalf("undocumented error %v", err)
			}
		} else {
			if _, err := json.Marshal(res); err != nil {
				t.Fatalf("result does not serialise: %v", err)
			}
			if len(res.Pages) == 0 {
				t.Fatal("result without pages")
			}
			for p := range res.Pages {
				if !tp.HasPage(p) {
					t.Fatalf("result page %q is not in the template", p)
				}
			}
		}
		if js(tp.App)+js(tp.PageConfigs) != before {
			t.Fatal("Apply modified the template")
		}
	})
}
