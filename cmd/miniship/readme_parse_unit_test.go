package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestParseReadme: each marker does what readme_parse_test.go says, on a
// golden README (testdata/readme-markers.md).
func TestParseReadme(t *testing.T) {
	b, err := os.ReadFile("testdata/readme-markers.md")
	if err != nil {
		t.Fatal(err)
	}
	secs, err := parseReadme(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range secs {
		for _, b := range s.blocks {
			got = append(got, fmt.Sprintf("%s|%s|skip=%s|file=%s|expect=%v|server=%v|run=%v", s.title, b.lang, b.skip, b.file, b.expect, b.demoServer, b.runnable()))
		}
	}
	want := []string{
		"(top)|sh|skip=|file=|expect=[]|server=false|run=true",
		"Section one|sh|skip=needs real WeChat|file=|expect=[]|server=false|run=false",
		"Section one|go|skip=|file=examples/x/main.go|expect=[]|server=false|run=false",
		"Section one|bash|skip=|file=|expect=[85312 61039]|server=false|run=true",
		"Section two|sh|skip=|file=|expect=[]|server=true|run=true",
		"Section two|yaml|skip=|file=|expect=[]|server=false|run=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestParseReadmeRefuses: a marker that cannot mean anything, or a Go
// fragment nobody can run, is an error rather than a silently skipped block.
func TestParseReadmeRefuses(t *testing.T) {
	for name, text := range map[string]string{
		"unknown marker":   "<!-- readme-test: sometimes -->\n```sh\necho\n```\n",
		"skip without why": "<!-- readme-test: skip -->\n```sh\necho\n```\n",
		"file outside":     "<!-- readme-test: file ../x.go -->\n```go\npackage x\n```\n",
		"bad errcode":      "<!-- readme-test: expect-errcode 85312x -->\n```sh\necho\n```\n",
		"malformed marker": "<!-- readme-test skip oops -->\n```sh\necho\n```\n",
		"go fragment":      "```go\nc.Commit(ctx)\n```\n",
		"unclosed fence":   "```sh\necho\n",
	} {
		if _, err := parseReadme(text); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestErrcodesAndSplit(t *testing.T) {
	out := "noise\n" + blockSep + "0\n{\"errcode\":0}\n" + blockSep + "1\n{\n  \"errcode\": 85312\n}\n{\"errcode\":-1}\n"
	segs := splitOutput(out)
	if len(segs) != 2 || !slices.Equal(errcodes(segs[0]), []int{0}) || !slices.Equal(errcodes(segs[1]), []int{85312, -1}) {
		t.Errorf("segments %q", segs)
	}
}
