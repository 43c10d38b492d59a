package extjson

import (
	"slices"
	"testing"
)

func TestLint(t *testing.T) {
	tests := []struct {
		name, ext string
		want      []string
	}{
		{"clean", `{"extAppid":"wx1","ext":{"a":1},"window":{"enablePullDownRefresh":true,"onReachBottomDistance":50},"debug":false}`, nil},
		{"unparseable", `{"window":`, nil},
		{"commit body", `{"template_id":1,"ext_json":"{}","user_version":"1.0"}`, []string{
			`ext_json has the keys ["template_id" "ext_json" "user_version"] of a /wxa/commit request: it looks like the whole request body; give the value of its ext_json instead`}},
		{"window member types", `{"window":{"enablePullDownRefresh":"true","onReachBottomDistance":"50","navigationBarTitleText":7}}`, []string{
			`window.enablePullDownRefresh should be a boolean, got the string "true": /wxa/commit accepts it as sent, the mini program may not`,
			`window.navigationBarTitleText should be a string, got the number 7: /wxa/commit accepts it as sent, the mini program may not`,
			`window.onReachBottomDistance should be a number, got the string "50": /wxa/commit accepts it as sent, the mini program may not`}},
		{"top-level and tabBar", `{"debug":"false","requiredBackgroundModes":"audio","tabBar":{"custom":1,"list":[{"pagePath":"a","text":["Home"]}]}}`, []string{
			`debug should be a boolean, got the string "false": /wxa/commit accepts it as sent, the mini program may not`,
			`requiredBackgroundModes should be an array of strings, got the string "audio": /wxa/commit accepts it as sent, the mini program may not`,
			`tabBar.custom should be a boolean, got the number 1: /wxa/commit accepts it as sent, the mini program may not`,
			`tabBar.list[0].text should be a string, got an array: /wxa/commit accepts it as sent, the mini program may not`}},
		{"extPages", `{"extPages":{"pages/a":{"disableScroll":"yes","navigationBarTitleText":"ok"}}}`, []string{
			`extPages["pages/a"].disableScroll should be a boolean, got the string "yes": /wxa/commit accepts it as sent, the mini program may not`}},
		{"unknown keys are not judged", `{"plugin":{},"myKey":"x"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Lint(tc.ext); !slices.Equal(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// FuzzLint: any input gives warnings without panicking, and the same
// warnings every time (they are printed in a fixed order).
func FuzzLint(f *testing.F) {
	f.Add(`{"window":{"enablePullDownRefresh":"true"},"tabBar":{"list":[{"text":1}]}}`)
	f.Add(`{"template_id":1,"ext_json":"{}"}`)
	f.Add(`{"extPages":{"a":{"disableScroll":"x"},"b":[]}}`)
	f.Fuzz(func(t *testing.T, s string) {
		if a, b := Lint(s), Lint(s); !slices.Equal(a, b) {
			t.Fatalf("not deterministic: %q vs %q", a, b)
		}
	})
}
