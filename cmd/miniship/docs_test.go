package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/miniship/miniship/rollout"
)

// TestDocsSelfContained: the repository stands alone. Every relative link
// and every file path named in backticks in README.md and docs/*.md exists
// in the repository, and no document points outside it.
func TestDocsSelfContained(t *testing.T) {
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, readmePath)
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	path := regexp.MustCompile("`([\\w.-]+(?:/[\\w.-]+)+\\.(?:md|go|ya?ml|json|txt|csv|sql|zip))`")
	outside := regexp.MustCompile(`/work/|\.\./shared|\bshared/spec\b|\bshared/seeds\b`)
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		name := strings.TrimPrefix(doc, "../../")
		if m := outside.FindString(text); m != "" {
			t.Errorf("%s points outside the repository: %q", name, m)
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), target)); err != nil {
				t.Errorf("%s links to %s, which is not in the repository", name, target)
			}
		}
		for _, m := range path.FindAllStringSubmatch(text, -1) {
			if strings.ContainsAny(m[1], "…*") {
				continue
			}
			if _, err := os.Stat(filepath.Join("../..", m[1])); err != nil {
				t.Errorf("%s names %s, which is not in the repository", name, m[1])
			}
		}
	}
}

// TestCredentialsDocumented: docs/cli.md's credentials table lists exactly
// the keys of the --credentials file.
func TestCredentialsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(b), "## rollout: the credentials file")
	table, _, _ = strings.Cut(table, "\n## ")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\w+)` \\|").FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
	}
	typ := reflect.TypeOf(rollout.Credentials{})
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if key == "" || key == "-" {
			continue
		}
		if !documented[key] {
			t.Errorf("credentials key %q is not in docs/cli.md", key)
		}
		delete(documented, key)
	}
	for k := range documented {
		t.Errorf("docs/cli.md documents credentials key %q, which rollout.Credentials lacks", k)
	}
	// The example file loads.
	_, example, ok := strings.Cut(table, "```yaml\n")
	example, _, _ = strings.Cut(example, "```")
	p := filepath.Join(t.TempDir(), "credentials.yaml")
	os.WriteFile(p, []byte(example), 0o600)
	c, err := rollout.LoadCredentials(p)
	if !ok || err != nil || c.ComponentAppID == "" || c.AdminKey == "" || len(c.RefreshTokens) != 1 {
		t.Errorf("the example credentials file: %+v, %v", c, err)
	}
}
