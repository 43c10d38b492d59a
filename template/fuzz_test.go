package template

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/miniship/miniship/wxerr"
)

// FuzzScanJS: any input gives a subset of the eight APIs, in canonical order,
// each of which occurs in the input.
func FuzzScanJS(f *testing.F) {
	for _, s := range []string{
		"wx.getLocation()", "wx['choosePoi']", "`${wx.chooseAddress}`", "/wx.getLocation/", "a / wx.getFuzzyLocation / b",
		"/* wx.getLocation", "'wx.getLocation", "`${", "}`wx.getLocation", "wx?.onLocationChange", "wx[`startLocationUpdate`]",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("testdata/twopkg/pages/map/map.js"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got := ScanJS(src)
		last := -1
		for _, api := range got {
			i := locationIndex(api)
			if i <= last {
				t.Fatalf("result %v not unique, canonical and known", got)
			}
			last = i
			if !strings.Contains(string(src), api) {
				t.Fatalf("found %s, which the source does not contain", api)
			}
		}
		if again := ScanJS(src); !slices.Equal(got, again) {
			t.Fatal("not deterministic")
		}
	})
}

// FuzzReadZip: any bytes give a Template or 85043/85044, never a panic.
func FuzzReadZip(f *testing.F) {
	// Seeds stay small: the fuzzer minimises every new input, which takes
	// long on kilobyte-sized zips.
	app := zent{name: "app.json", body: []byte(`{"pages":["a"],"subpackages":[{"root":"s","pages":["b"]}]}`)}
	f.Add(mkZip(f, app, zent{name: "a.js", body: []byte("wx.getLocation()")}, zent{name: "s/b.wxml"}))
	f.Add(mkZip(f, zent{name: "w/app.json", body: app.body}, zent{name: "w/a.js"}, zent{name: "w/s/b.js", body: []byte("{}")}))
	f.Add(mkZip(f, app, zent{name: "a.js"}, zent{name: "../x"}))
	f.Add(mkZip(f, app, zent{name: "a.js", body: make([]byte, 300), claim: 10}))
	f.Add([]byte("PK\x05\x06"))
	lim := Limits{PackageBytes: 64 << 10, TotalBytes: 128 << 10, Files: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := ReadZipBytes(data, lim)
		if err != nil {
			if c := wxerr.CodeOf(err); c != wxerr.InvalidTemplate && c != wxerr.PackageTooLarge {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if len(tp.Pages) == 0 || tp.Sizes.Total > lim.TotalBytes {
			t.Fatalf("accepted an invalid template: %+v", tp.Sizes)
		}
	})
}
