// Package bigtemplate builds a 200-page template and a ~18 KB ext_json
// for it, as extjson's BenchmarkApply has them: what the commit benchmark
// measures and the version golden test replays.
package bigtemplate

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Pages is how many pages the template has: 150 main pages and two
// subpackages of 25.
const Pages = 200

// Zip is the template: page 7 calls wx.getLocation (a privacy API the
// ext_json does not declare) and every page calls wx.request.
func Zip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			panic(err) // a bytes.Buffer does not fail
		}
		w.Write([]byte(body))
	}
	for i, p := range mainPages() {
		js := "Page({ onLoad() { wx.request({}) } })"
		if i == 7 {
			js = "Page({ onLoad() { wx.getLocation({}) } })"
		}
		add(p+".js", js)
		add(p+".wxml", "<view/>")
		add(p+".json", fmt.Sprintf(`{"navigationBarTitleText":"Page %d"}`, i))
	}
	var subs []string
	for _, root := range []string{"pkgA", "pkgB"} {
		var ps []string
		for i := range 25 {
			p := fmt.Sprintf("sub%02d/index", i)
			ps = append(ps, `"`+p+`"`)
			add(root+"/"+p+".js", "Page({})")
			add(root+"/"+p+".wxml", "<view/>")
		}
		subs = append(subs, fmt.Sprintf(`{"root":%q,"pages":[%s]}`, root, strings.Join(ps, ",")))
	}
	mainJSON, _ := json.Marshal(mainPages())
	add("app.json", fmt.Sprintf(`{"pages":%s,"subpackages":[%s],"window":{"navigationBarTitleText":"Bench"},"networkTimeout":{"request":10000}}`, mainJSON, strings.Join(subs, ",")))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func mainPages() []string {
	out := make([]string, 150)
	for i := range out {
		out[i] = fmt.Sprintf("pages/p%03d/index", i)
	}
	return out
}

// ExtJSON is an ext_json for the template: 106 ext attributes, 100
// extPages, window and networkTimeout overrides, and extra (raw JSON
// members, "" for none) before the closing brace.
func ExtJSON(extAppID, extra string) string {
	var ext strings.Builder
	fmt.Fprintf(&ext, `{"extAppid":%q,"ext":{`, extAppID)
	for i := range 106 {
		fmt.Fprintf(&ext, `"attr%02d":{"name":"merchant attribute %d","value":%d,"tags":["a","b","c"]},`, i, i, i*7)
	}
	ext.WriteString(`"end":true},"extPages":{`)
	for i, p := range mainPages()[:100] {
		fmt.Fprintf(&ext, `%q:{"navigationBarTitleText":"Merchant page %d","enablePullDownRefresh":true},`, p, i)
	}
	ext.WriteString(`"pkgA/sub00/index":{"navigationStyle":"custom"}},`)
	ext.WriteString(`"window":{"navigationBarTitleText":"Merchant","backgroundColor":"#ffffff"},"networkTimeout":{"request":5000}`)
	if extra != "" {
		ext.WriteString("," + extra)
	}
	ext.WriteString("}")
	return ext.String()
}
