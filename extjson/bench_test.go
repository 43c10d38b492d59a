package extjson

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/template"
)

// benchInput is a 200-page template (150 main pages, 2 subpackages of 25)
// and a ~20 KB ext_json touching every rule.
func benchInput(b *testing.B) (*template.Template, string) {
	b.Helper()
	files := map[string][]byte{}
	var main []string
	for i := range 150 {
		p := fmt.Sprintf("pages/p%03d/index", i)
		main = append(main, p)
		files[p+".js"] = []byte("Page({ onLoad() { wx.request({}) } })")
		files[p+".wxml"] = []byte("<view/>")
		files[p+".json"] = fmt.Appendf(nil, `{"navigationBarTitleText":"Page %d","usingComponents":{"card":"/components/card"}}`, i)
	}
	var subs []string
	for _, root := range []string{"pkgA", "pkgB"} {
		var ps []string
		for i := range 25 {
			p := fmt.Sprintf("sub%02d/index", i)
			ps = append(ps, `"`+p+`"`)
			files[root+"/"+p+".js"] = []byte("Page({})")
		}
		subs = append(subs, fmt.Sprintf(`{"root":%q,"pages":[%s]}`, root, strings.Join(ps, ",")))
	}
	mainJSON, _ := json.Marshal(main)
	files["app.json"] = fmt.Appendf(nil, `{"pages":%s,"subpackages":[%s],"window":{"navigationBarTitleText":"Bench"},
		"tabBar":{"list":[{"pagePath":"pages/p000/index"},{"pagePath":"pages/p001/index"}]},"networkTimeout":{"request":10000}}`, mainJSON, strings.Join(subs, ","))
	tp, err := template.New(files, template.Limits{})
	if err != nil {
		b.Fatal(err)
	}

	var ext strings.Builder
	ext.WriteString(`{"extAppid":"wx0123456789abcdef","ext":{`)
	for i := range 106 {
		fmt.Fprintf(&ext, `"attr%02d":{"name":"merchant attribute %d","value":%d,"tags":["a","b","c"]},`, i, i, i*7)
	}
	ext.WriteString(`"end":true},"extPages":{`)
	for i := range 100 {
		fmt.Fprintf(&ext, `%q:{"navigationBarTitleText":"Merchant page %d","enablePullDownRefresh":true},`, main[i], i)
	}
	ext.WriteString(`"pkgA/sub00/index":{"navigationStyle":"custom"}},"pages":`)
	pages, _ := json.Marshal(main[:120])
	ext.Write(pages)
	ext.WriteString(`,"subPackages":[{"root":"pkgA","pages":["sub00/index","sub01/index","sub02/index"]}],`)
	ext.WriteString(`"window":{"navigationBarTitleText":"Merchant","backgroundColor":"#ffffff"},"networkTimeout":{"request":5000},`)
	ext.WriteString(`"tabBar":{"color":"#333333","list":[{"pagePath":"pages/p000/index","text":"Home"},{"pagePath":"pages/p002/index","text":"Me"}]},`)
	ext.WriteString(`"requiredPrivateInfos":["getLocation","chooseAddress"],"plugins":{"chat":{"provider":"wxchat","version":"2.0.0"}}}`)
	return tp, ext.String()
}

func unmarshalBaseline(s string) error {
	var m map[string]any
	return json.Unmarshal([]byte(s), &m)
}

// BenchmarkApply measures validate+merge and reports its cost relative to a
// plain json.Unmarshal of the same ext_json, measured in the same run.
func BenchmarkApply(b *testing.B) {
	tp, ext := benchInput(b)
	opt := Options{Grants: allGranted}
	if _, err := Apply(tp, ext, opt); err != nil {
		b.Fatal(err)
	}
	// The baseline runs before and after the measured loop, so a change of
	// machine load during the run skews the ratio less.
	baseline := func(n int) time.Duration {
		start := time.Now()
		for range n {
			unmarshalBaseline(ext)
		}
		return time.Since(start)
	}
	const n = 500
	before := baseline(n)
	b.SetBytes(int64(len(ext)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := Apply(tp, ext, opt); err != nil {
			b.Fatal(err)
		}
	}
	apply := time.Since(start) / time.Duration(b.N)
	base := (before + baseline(n)) / (2 * n)
	b.ReportMetric(float64(apply)/float64(base), "x-unmarshal")
	b.ReportMetric(float64(len(ext)), "ext-bytes")
}

func BenchmarkUnmarshalBaseline(b *testing.B) {
	_, ext := benchInput(b)
	b.SetBytes(int64(len(ext)))
	b.ReportAllocs()
	for b.Loop() {
		if err := unmarshalBaseline(ext); err != nil {
			b.Fatal(err)
		}
	}
}
