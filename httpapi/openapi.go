package httpapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"sync"
)

// The OpenAPI 3.1 description, served at /miniship/v1/openapi.json. It is
// kept as one fragment per area under openapi/ (base.json holds the info,
// security schemes and shared schemas): describing a new endpoint is an
// entry in its area's fragment, or a new fragment, never an edit of a
// shared file. TestOpenAPIDescribesEveryRoute names any route left out, and
// TestOpenAPIValidatesTraffic checks real requests and answers against it.

//go:embed openapi/*.json
var openapiFiles embed.FS

// OpenAPI returns the assembled document as JSON.
var OpenAPI = sync.OnceValues(func() ([]byte, error) {
	doc, err := assembleOpenAPI(openapiFiles)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
})

// assembleOpenAPI merges the fragments' paths and components into
// base.json's. A path, method or component defined twice is an error: two
// areas must not describe one thing differently.
func assembleOpenAPI(fsys fs.FS) (map[string]any, error) {
	read := func(name string) (map[string]any, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return m, nil
	}
	doc, err := read("openapi/base.json")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	obj := func(m map[string]any, key string) map[string]any {
		v, _ := m[key].(map[string]any)
		if v == nil {
			v = map[string]any{}
			m[key] = v
		}
		return v
	}
	paths, comps := obj(doc, "paths"), obj(doc, "components")
	for _, name := range names {
		if name == "openapi/base.json" {
			continue
		}
		frag, err := read(name)
		if err != nil {
			return nil, err
		}
		for p, ops := range obj(frag, "paths") {
			have := obj(paths, p)
			for method, op := range ops.(map[string]any) {
				if _, dup := have[method]; dup {
					return nil, fmt.Errorf("%s: %s %s is described twice", name, method, p)
				}
				have[method] = op
			}
		}
		for kind, defs := range obj(frag, "components") {
			have := obj(comps, kind)
			for k, v := range defs.(map[string]any) {
				if _, dup := have[k]; dup {
					return nil, fmt.Errorf("%s: components/%s/%s is defined twice", name, kind, k)
				}
				have[k] = v
			}
		}
	}
	return doc, nil
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, err := OpenAPI()
	if err != nil { // the embedded files are fixed; tests catch this
		s.log.Error("openapi", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
