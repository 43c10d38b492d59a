package httpapi

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/miniship/miniship/service"
)

// loadOpenAPI parses and validates the served document.
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	b, err := OpenAPI()
	if err != nil {
		t.Fatalf("assemble openapi: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load openapi: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi document is invalid: %v", err)
	}
	return doc
}

var adminPattern = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/miniship/v1/\S+)$`)

// adminPatterns finds the admin routes the package registers: every
// "METHOD /miniship/v1/…" literal in its non-test sources that the admin
// mux answers to with exactly that pattern.
func adminPatterns(t *testing.T, s *Server) []string {
	files, _ := filepath.Glob("*.go")
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			m := adminPattern.FindStringSubmatch(v)
			if err != nil || m == nil {
				return true
			}
			path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(m[2], "1")
			if _, got := s.admin.Handler(httptest.NewRequest(m[1], path, nil)); got == v {
				out = append(out, v)
			}
			return true
		})
	}
	return out
}

// TestOpenAPIDescribesEveryRoute checks both ways: every WeChat path and
// method and every admin route the server registers is in the document,
// and the document describes nothing the server does not serve.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	s, err := New(Options{Service: service.New(service.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{"GET /miniship/v1/openapi.json": true}
	for path, rt := range s.wechat {
		if rt.methods&get != 0 {
			served["GET "+path] = true
		}
		if rt.methods&post != 0 {
			served["POST "+path] = true
		}
	}
	admin := adminPatterns(t, s)
	if len(admin) < 10 {
		t.Fatalf("found only %d admin routes in the sources: %v", len(admin), admin)
	}
	for _, p := range admin {
		served[p] = true
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	var missing, stale []string
	for r := range served {
		if !described[r] {
			missing = append(missing, r)
		}
	}
	for r := range described {
		if !served[r] {
			stale = append(stale, r)
		}
	}
	slices.Sort(missing)
	slices.Sort(stale)
	if len(missing) > 0 {
		t.Errorf("served but not in the OpenAPI document (describe each in its area's httpapi/openapi/*.json, or a new fragment there):\n  %s",
			strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("in the OpenAPI document but not served (remove or fix the path):\n  %s", strings.Join(stale, "\n  "))
	}
}

// TestOpenAPIFragmentsDoNotOverlap checks the assembly refuses an
// operation two fragments both describe.
func TestOpenAPIFragmentsDoNotOverlap(t *testing.T) {
	fsys := fstestMap{
		"openapi/base.json": `{"openapi":"3.1.0","paths":{},"components":{"schemas":{"A":{}}}}`,
		"openapi/a.json":    `{"paths":{"/x":{"get":{}}}}`,
		"openapi/b.json":    `{"paths":{"/x":{"get":{}}}}`,
	}
	if _, err := assembleOpenAPI(fsys.fs()); err == nil || !strings.Contains(err.Error(), "get /x is described twice") {
		t.Errorf("duplicate operation: %v", err)
	}
	fsys["openapi/b.json"] = `{"paths":{"/x":{"post":{}}},"components":{"schemas":{"A":{}}}}`
	if _, err := assembleOpenAPI(fsys.fs()); err == nil || !strings.Contains(err.Error(), "components/schemas/A") {
		t.Errorf("duplicate schema: %v", err)
	}
	delete(fsys, "openapi/b.json")
	doc, err := assembleOpenAPI(fsys.fs())
	if err != nil || doc["paths"].(map[string]any)["/x"] == nil {
		t.Errorf("assembly: %v %v", doc, err)
	}
}
