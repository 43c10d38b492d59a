package template

import (
	"slices"
	"strings"
	"testing"

	"github.com/miniship/miniship/wxerr"
)

func TestLocationAPIs(t *testing.T) {
	apis := LocationAPIs()
	if len(apis) != 8 || apis[0] != GetFuzzyLocation || apis[7] != ChooseAddress {
		t.Fatalf("LocationAPIs = %v", apis)
	}
	apis[0] = "mutated"
	if LocationAPIs()[0] != GetFuzzyLocation {
		t.Error("LocationAPIs must return a copy")
	}
	if IsLocationAPI("getlocation") || !IsLocationAPI(ChoosePoi) {
		t.Error("IsLocationAPI is wrong")
	}
}

func TestMutuallyExclusive(t *testing.T) {
	for _, a := range locationAPIs {
		for _, b := range locationAPIs {
			precise := func(s string) bool { return slices.Contains(locationAPIs[1:5], s) }
			want := a == GetFuzzyLocation && precise(b) || b == GetFuzzyLocation && precise(a)
			if got := MutuallyExclusive(a, b); got != want {
				t.Errorf("MutuallyExclusive(%s, %s) = %v", a, b, got)
			}
		}
	}
}

func TestCheckRequiredPrivateInfos(t *testing.T) {
	tests := []struct {
		in   any
		code wxerr.Code
		sub  string
	}{
		{[]any{}, 0, ""},
		{[]any{"getFuzzyLocation", "chooseAddress", "choosePoi", "chooseLocation"}, 0, ""},
		{[]any{"getLocation", "onLocationChange", "startLocationUpdate", "startLocationUpdateBackground"}, 0, ""},
		{"getLocation", wxerr.WrongPrivateAPIName, "must be an array"},
		{nil, wxerr.WrongPrivateAPIName, "got null"},
		{[]any{"getLocation", 1.0}, wxerr.WrongPrivateAPIName, "requiredPrivateInfos[1] must be a string"},
		{[]any{"getLocation", "wx.getLocation"}, wxerr.WrongPrivateAPIName, `requiredPrivateInfos[1] "wx.getLocation"`},
		{[]any{"choosePoi", "choosePoi"}, wxerr.WrongPrivateAPIName, "twice"},
		{[]any{"getFuzzyLocation", "startLocationUpdateBackground"}, wxerr.PrivateAPIMutuallyExcl, `"getFuzzyLocation" and "startLocationUpdateBackground"`},
		// A bad name is reported before an exclusion, whatever the order.
		{[]any{"getFuzzyLocation", "getLocation", "bogus"}, wxerr.WrongPrivateAPIName, "bogus"},
	}
	for _, tc := range tests {
		list, err := CheckRequiredPrivateInfos(tc.in)
		if tc.code == 0 {
			if err != nil || len(list) != len(tc.in.([]any)) {
				t.Errorf("%v: %v %v", tc.in, list, err)
			}
			continue
		}
		if e := wxerr.From(err); err == nil || e.Code != tc.code || !strings.Contains(e.Msg, tc.sub) {
			t.Errorf("%v: got %v, want %d containing %q", tc.in, err, tc.code, tc.sub)
		}
	}
}

func TestScanJS(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"call", "wx.getLocation({})", []string{"getLocation"}},
		{"reference", "const f = wx.chooseAddress; f()", []string{"chooseAddress"}},
		{"spaces", "wx . onLocationChange(cb)", []string{"onLocationChange"}},
		{"newline and comment", "wx\n  /* c */ .choosePoi()", []string{"choosePoi"}},
		{"optional chaining", "wx?.getFuzzyLocation?.()", []string{"getFuzzyLocation"}},
		{"bracket double", `wx["startLocationUpdate"]()`, []string{"startLocationUpdate"}},
		{"bracket single", `wx [ 'chooseLocation' ] ()`, []string{"chooseLocation"}},
		{"bracket template", "wx[`getLocation`]()", []string{"getLocation"}},
		{"bracket computed", `wx["get" + "Location"](); wx[name]()`, nil},
		{"bracket escaped", `wx["get\u004cocation"]()`, nil},
		{"bracket substitution", "wx[`${'getLocation'}`]()", nil},
		{"line comment", "// wx.getLocation()\nPage({})", nil},
		{"block comment", "/* wx.getLocation() */", nil},
		{"unterminated comment", "/* wx.getLocation()", nil},
		{"string", `const s = "wx.getLocation()"; const t = 'wx.choosePoi'`, nil},
		{"escaped quote", `const s = "a\" wx.getLocation()"; wx.choosePoi()`, []string{"choosePoi"}},
		{"template text", "const s = `wx.getLocation()`", nil},
		{"template substitution", "const s = `at ${wx.getLocation()} and ${ {a: wx.choosePoi} }`", []string{"getLocation", "choosePoi"}},
		{"nested template", "`${`${wx.chooseAddress}`}` + wx.getFuzzyLocation", []string{"getFuzzyLocation", "chooseAddress"}},
		{"regex", `const r = /wx.getLocation/g; wx.choosePoi()`, []string{"choosePoi"}},
		{"regex class", `x = /[/]wx.getLocation/; wx.choosePoi()`, []string{"choosePoi"}},
		{"division", "a = b / wx.getLocation / 2", []string{"getLocation"}},
		{"property wx", "this.wx.getLocation(); a?.wx.choosePoi()", nil},
		{"other identifier", "xwx.getLocation(); wx.getLocationX(); wx.getlocation()", nil},
		{"property of property", "wx.getLocation.call(wx)", []string{"getLocation"}},
		{"not wx api", "wx.request({}); uni.getLocation()", nil},
		{"dedup and order", "wx.chooseAddress(); wx.getFuzzyLocation(); wx.chooseAddress()", []string{"getFuzzyLocation", "chooseAddress"}},
		{"unterminated string", "'wx.getLocation()\nwx.choosePoi()", []string{"choosePoi"}},
		{"number then dot", "1.5; wx.chooseLocation()", []string{"chooseLocation"}},
		{"ternary with number", "a?.5:wx.choosePoi", []string{"choosePoi"}},
		{"after return regex", "return /wx.getLocation/.test(s)", nil},
		{"minified", `!function(){wx.getLocation({success:function(e){}}),wx["choosePoi"]()}();`, []string{"getLocation", "choosePoi"}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ScanJS([]byte(tc.src)); !slices.Equal(got, tc.want) {
				t.Errorf("ScanJS(%q) = %v, want %v", tc.src, got, tc.want)
			}
		})
	}
}
