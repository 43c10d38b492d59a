package extjson

import (
	"fmt"
	"maps"
	"slices"

	"github.com/miniship/miniship/template"
)

// Lint reports what is almost certainly a mistake in an ext_json although
// /wxa/commit accepts it: a whole commit request pasted where its ext_json
// value belongs, and known app.json keys whose JSON type the runtime does
// not expect (Apply checks only the types it needs for the merge; WeChat
// keeps the rest as sent). It returns nil for an ext_json Apply would refuse
// to parse: that error says more. Warnings come in a fixed order.
func Lint(extJSON string) []string {
	ext, err := parse(extJSON, Options{})
	if err != nil {
		return nil
	}
	var out []string
	var body []string
	for _, k := range []string{"template_id", "ext_json", "user_version", "user_desc"} {
		if _, ok := ext[k]; ok {
			body = append(body, k)
		}
	}
	if len(body) > 0 {
		out = append(out, fmt.Sprintf("ext_json has the keys %q of a /wxa/commit request: it looks like the whole request body; give the value of its ext_json instead", body))
	}
	lintObject(&out, "", ext, appKeys)
	if m, ok := ext["extPages"].(map[string]any); ok {
		for _, p := range slices.Sorted(maps.Keys(m)) {
			if cfg, ok := m[p].(map[string]any); ok {
				lintObject(&out, fmt.Sprintf("extPages[%q].", p), cfg, pageKeys)
			}
		}
	}
	return out
}

// A shape is the JSON type app.json's documentation gives a key, and for
// objects the shapes of their known members.
type shape struct {
	kind    string // "string", "boolean", "number", "object", "array of strings", "array of objects"
	members map[string]shape
	items   map[string]shape // members of each element of an array of objects
}

var (
	str     = shape{kind: "string"}
	boolean = shape{kind: "boolean"}
	number  = shape{kind: "number"}
	object  = shape{kind: "object"}
	strList = shape{kind: "array of strings"}
)

// windowKeys are the window settings of app.json, also valid at the top of
// a page's config.
var windowKeys = map[string]shape{
	"navigationBarBackgroundColor": str, "navigationBarTextStyle": str, "navigationBarTitleText": str,
	"navigationStyle": str, "homeButton": boolean, "backgroundColor": str, "backgroundTextStyle": str,
	"backgroundColorTop": str, "backgroundColorBottom": str, "enablePullDownRefresh": boolean,
	"onReachBottomDistance": number, "pageOrientation": str, "restartStrategy": str,
	"initialRenderingCache": str, "visualEffectInBackground": str, "handleWebviewPreload": str,
}

// appKeys are app.json's keys that Apply does not type-check itself (it
// refuses wrong types of the others with 85013), plus the members of
// window and tabBar, whose objects Apply checks only as objects.
var appKeys = map[string]shape{
	"window": {kind: "object", members: windowKeys},
	"tabBar": {kind: "object", members: map[string]shape{
		"color": str, "selectedColor": str, "backgroundColor": str, "borderStyle": str,
		"position": str, "custom": boolean,
		"list": {kind: "array of objects", items: map[string]shape{"text": str, "iconPath": str, "selectedIconPath": str}},
	}},
	"debug": boolean, "functionalPages": boolean, "resizable": boolean, "darkmode": boolean,
	"sitemapLocation": str, "style": str, "themeLocation": str, "lazyCodeLoading": str,
	"renderer": str, "componentFramework": str, "restartStrategy": str,
	"permission": object, "usingComponents": object, "preloadRule": object, "resolveAlias": object,
	"singlePage": object, "useExtendedLib": object, "entranceDeclare": object, "halfPage": object,
	"debugOptions": object, "rendererOptions": object,
	"requiredBackgroundModes": strList, "embeddedAppIdList": strList,
}

// pageKeys are a page config's keys (extPages values).
var pageKeys = func() map[string]shape {
	m := maps.Clone(windowKeys)
	maps.Copy(m, map[string]shape{
		"disableScroll": boolean, "usingComponents": object, "style": str,
		"singlePage": object, "renderer": str, "componentFramework": str,
	})
	return m
}()

func lintObject(out *[]string, prefix string, m map[string]any, known map[string]shape) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sh, ok := known[k]
		if !ok {
			continue
		}
		lintValue(out, prefix+k, m[k], sh)
	}
}

func lintValue(out *[]string, path string, v any, sh shape) {
	got := template.JSONType(v)
	ok := true
	switch sh.kind {
	case "string", "boolean", "number", "object":
		ok = got == sh.kind
	case "array of strings":
		arr, isArr := v.([]any)
		ok = isArr
		for _, e := range arr {
			if _, s := e.(string); !s {
				ok = false
			}
		}
	case "array of objects":
		arr, isArr := v.([]any)
		if !isArr {
			ok = false
			break
		}
		for i, e := range arr {
			if m, isObj := e.(map[string]any); isObj {
				lintObject(out, fmt.Sprintf("%s[%d].", path, i), m, sh.items)
			}
		}
	}
	if !ok {
		*out = append(*out, fmt.Sprintf("%s should be %s, got %s: /wxa/commit accepts it as sent, the mini program may not", path, article(sh.kind), describe(v)))
		return
	}
	if m, isObj := v.(map[string]any); isObj && sh.members != nil {
		lintObject(out, path+".", m, sh.members)
	}
}

func article(kind string) string {
	if kind == "object" || kind == "array" || kind == "array of strings" || kind == "array of objects" {
		return "an " + kind
	}
	return "a " + kind
}

// describe names a JSON value's type, quoting short scalars so the mistake
// ("true" for true) is visible.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) <= 20 {
			return fmt.Sprintf("the string %q", x)
		}
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	}
	if t := template.JSONType(v); t == "number" {
		return fmt.Sprintf("the number %v", v)
	}
	return article(template.JSONType(v))
}
