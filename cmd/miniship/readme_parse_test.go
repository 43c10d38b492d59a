package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The README harness (readme_test.go) runs the README's code blocks. What it
// does with each fenced block is decided by its language and by a marker,
// an HTML comment on the line just before the fence (invisible on GitHub):
//
//	```sh / ```bash            run, in order, in one bash session per "## " section
//	<!-- readme-test: skip REASON -->          not run (say why: e.g. needs real WeChat)
//	<!-- readme-test: file PATH -->            the block is that file: written to PATH
//	                                           (relative to the clone) before the section
//	                                           runs; if the repository has PATH, the
//	                                           block must equal it
//	<!-- readme-test: expect-errcode N,M -->   the block may print these WeChat errcodes
//	<!-- readme-test: demo-server -->          before this block, start
//	                                           `./miniship serve --demo` in the background
//	                                           (what a reader has running from
//	                                           "Trying the demo")
//
// A ```go block must be a file (or skipped): Go fragments cannot run.
// Blocks in other languages (yaml, json, text) are not run unless they are a
// file.

// section is one "## " heading and its code blocks.
type section struct {
	title  string
	blocks []block
}

type block struct {
	line       int // 1-based line of the opening fence
	lang, body string
	skip       string // reason; non-empty: not run
	file       string
	expect     []int
	demoServer bool
}

// runnable reports whether the block is run as shell commands.
func (b block) runnable() bool {
	return b.skip == "" && b.file == "" && (b.lang == "sh" || b.lang == "bash" || b.lang == "shell")
}

var markerRE = regexp.MustCompile(`^<!--\s*readme-test:\s*(\S+)\s*(.*?)\s*-->$`)

// parseReadme splits a README into sections and blocks, checking that every
// marker is known and every Go block is accounted for.
func parseReadme(text string) ([]section, error) {
	lines := strings.Split(text, "\n")
	secs := []section{{title: "(top)"}}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "## ") {
			secs = append(secs, section{title: strings.TrimSpace(l[3:])})
			continue
		}
		if !strings.HasPrefix(l, "```") {
			continue
		}
		b := block{line: i + 1, lang: strings.Fields(l[3:] + " x")[0]}
		if b.lang == "x" {
			b.lang = ""
		}
		if i > 0 {
			if m := markerRE.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
				switch m[1] {
				case "skip":
					if m[2] == "" {
						return nil, fmt.Errorf("README line %d: skip needs a reason", i)
					}
					b.skip = m[2]
				case "file":
					if m[2] == "" || strings.HasPrefix(m[2], "/") || strings.Contains(m[2], "..") {
						return nil, fmt.Errorf("README line %d: file needs a path inside the clone", i)
					}
					b.file = m[2]
				case "expect-errcode":
					for _, f := range strings.Split(m[2], ",") {
						n, err := strconv.Atoi(strings.TrimSpace(f))
						if err != nil {
							return nil, fmt.Errorf("README line %d: expect-errcode %q", i, m[2])
						}
						b.expect = append(b.expect, n)
					}
				case "demo-server":
					b.demoServer = true
				default:
					return nil, fmt.Errorf("README line %d: unknown marker %q", i, m[1])
				}
			} else if strings.Contains(lines[i-1], "readme-test") {
				return nil, fmt.Errorf("README line %d: malformed marker %q", i, lines[i-1])
			}
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("README line %d: unclosed fence", b.line)
		}
		b.body = strings.Join(body, "\n") + "\n"
		if b.lang == "go" && b.file == "" && b.skip == "" {
			return nil, fmt.Errorf("README line %d: a go block must be a file or skipped (see readme_parse_test.go)", b.line)
		}
		s := &secs[len(secs)-1]
		s.blocks = append(s.blocks, b)
	}
	return secs, nil
}
