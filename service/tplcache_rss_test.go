package service

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/miniship/miniship/template"
)

// TestTemplateCacheRSS measures the peak RSS of parsing and caching 64
// maximum-size (20 MB) templates, with the cache bounded by count as it
// was (64 entries) or by bytes (the default 256 MiB). One mode per process,
// as peak RSS is per process:
//
//	MINISHIP_MEASURE_TEMPLATE_RSS=count go test -run TestTemplateCacheRSS -v ./service
//	MINISHIP_MEASURE_TEMPLATE_RSS=bytes go test -run TestTemplateCacheRSS -v ./service
func TestTemplateCacheRSS(t *testing.T) {
	mode := os.Getenv("MINISHIP_MEASURE_TEMPLATE_RSS")
	if mode != "count" && mode != "bytes" {
		t.Skip("set MINISHIP_MEASURE_TEMPLATE_RSS=count or bytes to measure")
	}
	byCount := map[int64]*cachedTemplate{}
	byBytes := newTplCache(0)
	for id := range int64(64) {
		ct := &cachedTemplate{tpl: maxTemplate(t, byte(id))}
		if mode == "count" {
			byCount[id] = ct // the old bound: cleared only past 64 entries
		} else {
			byBytes.put(id, ct)
		}
		runtime.GC()
		debug.FreeOSMemory()
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "VmRSS") {
			t.Logf("%s: %s (cache holds %d bytes in bytes mode)", mode, l, byBytes.bytes())
		}
	}
	runtime.KeepAlive(byCount)
}

// maxTemplate is a template of 20 MB: ten subpackages of just under 2 MB.
func maxTemplate(t *testing.T, seed byte) *template.Template {
	files := map[string][]byte{"index.js": []byte("Page({})")}
	var subs []string
	for i := range 10 {
		root := fmt.Sprintf("s%d", i)
		subs = append(subs, fmt.Sprintf(`{"root":%q,"pages":["p"]}`, root))
		files[root+"/p.js"] = []byte("Page({})")
		big := make([]byte, template.DefaultPackageBytes-(8<<10))
		for j := range big {
			big[j] = seed + byte(j)
		}
		files[root+"/big.bin"] = big
	}
	files["app.json"] = []byte(`{"pages":["index"],"subpackages":[` + strings.Join(subs, ",") + `]}`)
	tpl, err := template.New(files, template.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}
