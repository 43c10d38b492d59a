// Package extjson applies the ext_json of /wxa/commit to a template: it
// validates the ext_json and merges it into the template's app.json and page
// configs, giving the experience version's effective configuration.
//
// # Merge rules
//
// These follow the newest version of WeChat's commit page (its samples are
// testdata/samples/000_*), which wins over the older
// "only pages and tabBar.list overwrite, plugins unsupported" wording:
//   - Replaced whole: pages, customOpen, functionPages, subPackages,
//     navigateToMiniProgramAppIdList, plugins, requiredPrivateInfos.
//   - Same-level override (each member of the ext_json object overwrites or is
//     added to the same member in app.json): window, networkTimeout, tabBar.
//     So tabBar.list, being one member, is replaced whole.
//   - extPages: each named page's config gets a same-level override.
//   - ext goes to Result.Ext, never into app.json; so does extPages (applied
//     to Result.Pages).
//   - extAppid is added to app.json as is, as the doc says ("extAppid直接加到
//     app.json"); the runtime ignores it there and BuildPackage also copies it
//     to ext.json.
//   - Any other key, known to app.json or not, gets a same-level override when
//     both sides are objects and replaces otherwise. Unknown keys are kept,
//     never an error: the official sample sends "plugin":{}.
//
// Choices where the sources disagree or are silent:
//   - A same-level override of an object the template lacks adds it, unless
//     the ext_json object is empty: the samples send "window":{},
//     "tabBar":{} as placeholders, and an empty tabBar would break app.json.
//   - "subpackages" and "subPackages" are one key, as in app.json. The result
//     keeps the template's spelling (the ext_json's when the template has
//     none); both spellings in one ext_json is 85013.
//   - The doc's spelling navigateToMiniProgaramAppIdList is accepted as an
//     alias and lands in app.json as navigateToMiniProgramAppIdList, the key
//     the runtime reads; both spellings in one ext_json is 85013.
//   - Key names are case-sensitive, as in app.json: the doc's prose "tabbar"
//     means tabBar; an ext_json key "tabbar" is an unknown key.
//   - extEnable and directCommit are ext.json's own DevTools switches: they
//     are accepted and dropped, not copied into app.json.
//   - sitemap, listed as a special field without a shape, is an ordinary key.
//   - extPages may name any page of the template, including pages the result
//     drops (their override is then unused); a page outside the template is
//     85045.
//   - pages lists main-package pages only; a subpackage page there is 85045.
//     Duplicates in pages or in a subpackage's pages are 85013. A subPackages
//     item with no pages is 85047, like an empty pages.
//   - Checks that concern the result (tabBar.list, entryPagePath,
//     requiredPrivateInfos, plugins) apply to what the result holds, whether it
//     came from the ext_json or from the template.
//   - ext_json larger than Options.MaxBytes (1 MB) or nested deeper than
//     Options.MaxDepth (64) is refused before decoding, as a parse failure:
//     85048. An empty string, or JSON that is not an object, is 85048 too.
//     Duplicate keys: the last one wins (encoding/json).
//   - JSON numbers are kept as json.Number, so they round-trip unchanged.
//
// # Order of checks
//
// The first failing check decides the errcode, always in this order:
//  1. size, nesting depth, syntax, top-level object: 85048;
//  2. standard template: keys other than extAppid, ext, window: 9402203
//     (all offending keys are named);
//  3. types of known keys, in this order: the two alias pairs, extAppid, ext,
//     extPages, pages, subPackages, window, networkTimeout, tabBar, plugins,
//     navigateToMiniProgramAppIdList, entryPagePath: 85013;
//  4. pages: empty 85047, duplicate 85013, not a main page 85045;
//  5. subPackages, item by item: root unknown 85045, duplicate root 85013,
//     no pages 85047, then page by page duplicate 85013, unknown 85045;
//  6. extPages keys in sorted order: 85045;
//  7. on the merged result: tabBar.list item by item, no pagePath 85046, not
//     in pages 85045; then entryPagePath not a page of the result 85045;
//  8. requiredPrivateInfos: format, name or duplicate 85310, exclusion 85311,
//     then each API in order not granted 85312;
//  9. plugins (app.json's, then each subpackage's) by sorted alias: unknown
//     80067, not granted 80082, bad version 80066.
//
// Within a list the first offending element (in array order) is reported.
package extjson

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

// Default limits of an ext_json.
const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 64
)

// Options tune Apply. The zero value checks a normal template without
// grants.
type Options struct {
	// Standard is set for a standard-library template (template_type 1):
	// only extAppid, ext and window are allowed.
	Standard bool
	// Grants supplies the mini program's permissions; nil skips the
	// permission checks (85312, 80067, 80082, 80066).
	Grants Grants
	// MaxBytes and MaxDepth cap the ext_json; zero means the defaults.
	MaxBytes int
	MaxDepth int
}

// Grants answers permission questions for one mini program. Apply calls it
// synchronously, so implementations should be in-memory snapshots.
type Grants interface {
	// PrivacyAPI reports whether the mini program may declare a location API.
	PrivacyAPI(name string) bool
	// Plugin judges a plugin declaration (provider appid and version).
	Plugin(provider, version string) PluginStatus
}

// PluginStatus is a Grants verdict on a plugin declaration.
type PluginStatus int

const (
	PluginOK         PluginStatus = iota
	PluginNotFound                // 80067: no such plugin
	PluginNotGranted              // 80082: the mini program may not use it
	PluginBadVersion              // 80066: not a version it may use
)

// Result is the effective configuration of the experience version. It shares
// unmodified values with the Template: treat it as read-only. Its JSON form
// is {"app": …, "pages": …, "ext": …}, what `miniship preview` prints.
type Result struct {
	// App is the merged app.json.
	App map[string]any `json:"app"`
	// Pages maps every page of the result (main pages, then subpackage
	// pages as "root/page") to its effective config, {} when it has none.
	Pages map[string]map[string]any `json:"pages"`
	// Ext is the ext_json's ext object, nil when absent.
	Ext map[string]any `json:"ext"`
	// RequiredPrivateInfos is app.json's requiredPrivateInfos, validated.
	RequiredPrivateInfos []string `json:"-"`
}

// Apply validates extJSON against t and returns the merged configuration, or
// a *wxerr.Error whose code is one of those listed in the package doc.
func Apply(t *template.Template, extJSON string, opt Options) (*Result, error) {
	ext, err := parse(extJSON, opt)
	if err != nil {
		return nil, err
	}
	if opt.Standard {
		if err := checkStandard(ext); err != nil {
			return nil, err
		}
	}
	if err := checkTypes(ext); err != nil {
		return nil, err
	}
	if err := checkPaths(t, ext); err != nil {
		return nil, err
	}
	res := merge(t, ext)
	if err := checkResult(res, opt.Grants); err != nil {
		return nil, err
	}
	return res, nil
}

// parse decodes the ext_json into an object after checking size and depth,
// so no input can exhaust memory or the stack.
func parse(s string, opt Options) (map[string]any, error) {
	maxBytes, maxDepth := opt.MaxBytes, opt.MaxDepth
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if len(s) > maxBytes {
		return nil, wxerr.Errorf(wxerr.ExtJSONParseFail, "ext_json is %d bytes, the limit is %d", len(s), maxBytes)
	}
	if at := template.TooDeep(s, maxDepth); at >= 0 {
		line, col := position(s, at+1)
		return nil, wxerr.Errorf(wxerr.ExtJSONParseFail, "ext_json nests deeper than %d levels at line %d, column %d", maxDepth, line, col)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, syntaxError(s, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(s, int(dec.InputOffset())+1)
		return nil, wxerr.Errorf(wxerr.ExtJSONParseFail, "unexpected data after the JSON object at line %d, column %d", line, col)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, wxerr.Errorf(wxerr.ExtJSONParseFail, "ext_json must be a JSON object, got %s", template.JSONType(v))
	}
	return m, nil
}

func syntaxError(s string, err error) error {
	if err == io.EOF {
		return wxerr.New(wxerr.ExtJSONParseFail, "ext_json is empty")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(s, int(se.Offset))
		return wxerr.Errorf(wxerr.ExtJSONParseFail, "%v at line %d, column %d", se, line, col)
	}
	if err == io.ErrUnexpectedEOF {
		return wxerr.New(wxerr.ExtJSONParseFail, "ext_json ends in the middle of a value")
	}
	return wxerr.New(wxerr.ExtJSONParseFail, err.Error())
}

// position gives the 1-based line and column of the byte at which the first
// n bytes of s end (json.SyntaxError.Offset counts the offending byte).
func position(s string, n int) (line, col int) {
	n = min(max(n, 1), len(s)+1)
	head := s[:n-1]
	return strings.Count(head, "\n") + 1, n - 1 - strings.LastIndexByte(head, '\n')
}
