package extjson

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

// merge builds the result from a checked ext_json. Values are shared, never
// modified: only maps on the path of a change are copied.
func merge(t *template.Template, ext map[string]any) *Result {
	app := make(map[string]any, len(t.App)+len(ext))
	maps.Copy(app, t.App)
	res := &Result{App: app}
	for k, v := range ext {
		switch k {
		case "ext":
			res.Ext = v.(map[string]any)
		case "extPages", "extEnable", "directCommit":
			// extPages is applied to the pages below; the others are
			// DevTools switches of ext.json.
		case "subPackages", "subpackages":
			key, _, _ := template.SubpackagesKey(t.App)
			if _, ok := t.App[key]; !ok {
				key = k
			}
			delete(app, "subPackages")
			delete(app, "subpackages")
			app[key] = v
		case navigateKey, navigateKeyTypo:
			delete(app, navigateKeyTypo)
			app[navigateKey] = v
		case "pages", "customOpen", "functionPages", "plugins", "requiredPrivateInfos", "extAppid":
			app[k] = v
		case "window", "networkTimeout", "tabBar":
			if m := v.(map[string]any); len(m) > 0 || app[k] != nil {
				app[k] = overlay(app[k], m)
			}
		default:
			if m, ok := v.(map[string]any); ok {
				if _, ok := app[k].(map[string]any); ok {
					app[k] = overlay(app[k], m)
					continue
				}
			}
			app[k] = v
		}
	}

	type subpkg struct {
		root  string
		pages []string
	}
	var subs []subpkg
	if _, v, _ := template.SubpackagesKey(ext); v != nil {
		for _, it := range v.([]any) {
			m := it.(map[string]any)
			subs = append(subs, subpkg{strings.TrimSuffix(m["root"].(string), "/"), strs(m["pages"])})
		}
	} else {
		for _, s := range t.Subpackages {
			subs = append(subs, subpkg{s.Root, s.Pages})
		}
	}
	mainPages := t.Pages
	if v, ok := ext["pages"]; ok {
		mainPages = strs(v)
	}
	extPages, _ := ext["extPages"].(map[string]any)
	n := len(mainPages)
	for _, s := range subs {
		n += len(s.pages)
	}
	res.Pages = make(map[string]map[string]any, n)
	add := func(p string) {
		cfg := t.PageConfigs[p]
		if ov, ok := extPages[p].(map[string]any); ok {
			cfg = overlay(cfg, ov)
		}
		res.Pages[p] = cfg
	}
	for _, p := range mainPages {
		add(p)
	}
	for _, s := range subs {
		for _, p := range s.pages {
			add(s.root + "/" + p)
		}
	}
	return res
}

// overlay is the same-level override: a copy of base (when an object) with
// every member of over set on it.
func overlay(base any, over map[string]any) map[string]any {
	b, _ := base.(map[string]any)
	out := make(map[string]any, len(b)+len(over))
	maps.Copy(out, b)
	maps.Copy(out, over)
	return out
}

// checkResult runs the checks on the merged configuration (steps 7 to 9 of
// the package doc).
func checkResult(res *Result, g Grants) error {
	app := res.App
	if tb, ok := app["tabBar"].(map[string]any); ok {
		items, _ := tb["list"].([]any)
		pages := map[string]bool{}
		for _, p := range strs(app["pages"]) {
			pages[p] = true
		}
		for i, it := range items {
			item, _ := it.(map[string]any)
			p, _ := item["pagePath"].(string)
			if p == "" {
				return wxerr.Errorf(wxerr.TabBarPagePathMissing, "tabBar.list[%d] has no pagePath", i)
			}
			if !pages[p] {
				return wxerr.Errorf(wxerr.ExtJSONPathNotExist, "tabBar.list[%d].pagePath %q is not in pages", i, p)
			}
		}
	}
	if v, ok := app["entryPagePath"]; ok {
		if p, _ := v.(string); res.Pages[p] == nil {
			return wxerr.Errorf(wxerr.ExtJSONPathNotExist, "entryPagePath %q is not a page of the result", p)
		}
	}
	if v, ok := app["requiredPrivateInfos"]; ok {
		list, err := template.CheckRequiredPrivateInfos(v)
		if err != nil {
			return err
		}
		for _, api := range list {
			if g != nil && !g.PrivacyAPI(api) {
				return wxerr.Errorf(wxerr.PrivateAPINotAuthorized, "requiredPrivateInfos %q: the mini program has no grant for it; apply for it first", api)
			}
		}
		res.RequiredPrivateInfos = list
	}
	if g == nil {
		return nil
	}
	if err := checkPluginGrants("plugins", app["plugins"], g); err != nil {
		return err
	}
	key, v, _ := template.SubpackagesKey(app)
	items, _ := v.([]any)
	for i, it := range items {
		m, _ := it.(map[string]any)
		if err := checkPluginGrants(fmt.Sprintf("%s[%d].plugins", key, i), m["plugins"], g); err != nil {
			return err
		}
	}
	// The weui extended library is granted like a plugin, under its appid.
	if lib, _ := app["useExtendedLib"].(map[string]any); lib["weui"] == true && g.Plugin(WeUIAppID, "") != PluginOK {
		return wxerr.Errorf(wxerr.PluginNoPermission, "useExtendedLib.weui: this mini program may not use the weui extended library (plugin %s); add it in the plugin management first", WeUIAppID)
	}
	return nil
}

// WeUIAppID is the plugin appid under which useExtendedLib.weui is granted.
const WeUIAppID = "wxfa43a4a7041a84de"

func checkPluginGrants(path string, v any, g Grants) error {
	m, _ := v.(map[string]any)
	for _, alias := range slices.Sorted(maps.Keys(m)) {
		p, _ := m[alias].(map[string]any)
		provider, _ := p["provider"].(string)
		version, _ := p["version"].(string)
		switch g.Plugin(provider, version) {
		case PluginNotFound:
			return wxerr.Errorf(wxerr.PluginNotFound, "%s.%s: plugin %q does not exist", path, alias, provider)
		case PluginNotGranted:
			return wxerr.Errorf(wxerr.PluginNoPermission, "%s.%s: this mini program may not use plugin %q; add it in the plugin management first", path, alias, provider)
		case PluginBadVersion:
			return wxerr.Errorf(wxerr.PluginVersionInvalid, "%s.%s: %q is not a valid version of plugin %q", path, alias, version, provider)
		}
	}
	return nil
}
