package template

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"time"
)

// BuildPackage writes the experience-version package as a zip: every file of
// the template, with app.json replaced by app, the .json of each page in
// pages replaced by its config, and ext.json replaced by
// {"extEnable": true, "extAppid": app["extAppid"] (when a string), "ext": ext
// (when not nil)}, which is what wx.getExtConfigSync reads. The template's
// own ext.json is a DevTools debugging file and is not kept. Entries are
// sorted and carry no timestamps, so equal inputs give identical bytes.
func (t *Template) BuildPackage(w io.Writer, app map[string]any, pages map[string]map[string]any, ext map[string]any) error {
	out := maps.Clone(t.files)
	put := func(name string, v any) error {
		b, err := marshal(v)
		out[name] = b
		return err
	}
	if err := put("app.json", app); err != nil {
		return err
	}
	for p, cfg := range pages {
		if err := put(p+".json", cfg); err != nil {
			return err
		}
	}
	extFile := map[string]any{"extEnable": true}
	if id, ok := app["extAppid"].(string); ok {
		extFile["extAppid"] = id
	}
	if ext != nil {
		extFile["ext"] = ext
	}
	if err := put("ext.json", extFile); err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, name := range slices.Sorted(maps.Keys(out)) {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return err
		}
		if _, err := fw.Write(out[name]); err != nil {
			return err
		}
	}
	return zw.Close()
}

// zipTime is every entry's time: fixed, so that a package's bytes depend
// only on its content, and the first a zip can hold (a zero time would be
// written as the invalid date 1980-00-00).
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// marshal writes JSON without escaping <, > and & (they are common in
// page titles and harmless here).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return buf.Bytes(), err
}
