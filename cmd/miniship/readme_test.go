package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The README harness: every shell block of README.md runs as written
// against the real binary, so the README cannot drift from the code. The
// rules (markers, one bash session per section) are in readme_parse_test.go.
//
// Each "## " section runs in a fresh copy of the repository (what a reader
// with a clean clone has), with ./miniship already built (as "Trying the
// demo" builds it) and an empty miniship-data. Rewritten for isolation: the
// README's fixed port 8080 ("127.0.0.1:8080", "localhost:8080") becomes a
// free port, and MINISHIP_ADDR points serve at it. A section passes when
// bash -euo pipefail exits 0 and no block printed a WeChat errcode other
// than 0 and those its marker expects, nor an admin API {"error": ...}.

const readmePath = "../../README.md"

// sectionTimeout bounds one section: a foreground server or an endless
// wait fails the test with the section's output instead of hanging it.
const sectionTimeout = 4 * time.Minute

func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the README")
	}
	needTools(t, "bash", "curl")
	text, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := parseReadme(string(text))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	ran := 0
	for _, s := range secs {
		if !slices.ContainsFunc(s.blocks, block.runnable) {
			continue
		}
		ran++
		t.Run(s.title, func(t *testing.T) { runSection(t, s, bin) })
	}
	if ran < 2 {
		t.Fatalf("only %d sections with shell blocks: did the markers or headings change?", ran)
	}
}

// needTools skips the test when a tool the README uses is missing, or
// fails it when MINISHIP_TEST_README=1 (.ci/run sets it) so that CI cannot
// pass without having run the README.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("MINISHIP_TEST_README") == "1" {
				t.Fatalf("the README needs %s: %v", tool, err)
			}
			t.Skipf("the README needs %s: %v", tool, err)
		}
	}
}

// buildBinary builds the binary once for all the README tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "readme-bin-")
		if err != nil {
			binErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "miniship")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

var (
	binOnce         sync.Once
	binDir, binPath string
	binErr          error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var port8080 = regexp.MustCompile(`\b(127\.0\.0\.1|localhost):8080\b`)

func runSection(t *testing.T, s section, bin string) {
	addr := freeAddr(t)
	dir, err := os.MkdirTemp("", "readme-clone-")
	if err != nil {
		t.Fatal(err)
	}
	// Removed without failing: a killed server may still be exiting.
	defer os.RemoveAll(dir)
	if err := copyClone("../..", dir); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(bin, filepath.Join(dir, "miniship"), 0o755); err != nil {
		t.Fatal(err)
	}
	rewrite := func(s string) string { return port8080.ReplaceAllString(s, addr) }

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	serverStarted := false
	var run []block
	for _, b := range s.blocks {
		switch {
		case b.file != "":
			if want, err := os.ReadFile(filepath.Join("../..", b.file)); err == nil && string(want) != b.body {
				t.Errorf("README line %d: the block differs from %s; paste the file again", b.line, b.file)
			}
			p := filepath.Join(dir, b.file)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(rewrite(b.body)), 0o644); err != nil {
				t.Fatal(err)
			}
		case b.runnable():
			if b.demoServer && !serverStarted {
				serverStarted = true
				// What a reader has running from "Trying the demo"; the
				// wait is bounded so a server that cannot start fails.
				script.WriteString("./miniship serve --demo > .readme-serve.log 2>&1 &\n" +
					"for i in $(seq 600); do curl -sf http://" + addr + "/miniship/healthz >/dev/null && break; sleep 0.1; done\n" +
					"curl -sf http://" + addr + "/miniship/healthz >/dev/null || { cat .readme-serve.log; exit 1; }\n")
			}
			fmt.Fprintf(&script, "echo '%s%d'\n", blockSep, len(run))
			script.WriteString(rewrite(b.body))
			run = append(run, b)
		}
	}
	out, err := runBash(dir, script.String(), addr)
	segs := splitOutput(out)
	if err != nil {
		last := max(len(segs)-1, 0)
		line := 0
		if last < len(run) {
			line = run[last].line
		}
		t.Fatalf("section %q failed in the block at README line %d: %v\noutput:\n%s", s.title, line, err, out)
	}
	for i, b := range run {
		if i >= len(segs) {
			t.Fatalf("block at README line %d did not run; output:\n%s", b.line, out)
		}
		for _, code := range errcodes(segs[i]) {
			if code != 0 && !slices.Contains(b.expect, code) {
				t.Errorf("block at README line %d printed errcode %d (not in its expect-errcode marker):\n%s", b.line, code, segs[i])
			}
		}
		if strings.Contains(segs[i], `{"error":`) {
			t.Errorf("block at README line %d got an admin API error:\n%s", b.line, segs[i])
		}
		for _, code := range b.expect {
			if !slices.Contains(errcodes(segs[i]), code) {
				t.Errorf("block at README line %d expects errcode %d and did not print it:\n%s", b.line, code, segs[i])
			}
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output of %q:\n%s", s.title, out)
	}
}

const blockSep = "::readme-block::"

func splitOutput(out string) []string {
	parts := strings.Split(out, blockSep)
	var segs []string
	for _, p := range parts[1:] {
		_, rest, _ := strings.Cut(p, "\n") // the block number
		segs = append(segs, rest)
	}
	return segs
}

var errcodeRE = regexp.MustCompile(`"errcode":\s*(-?\d+)`)

func errcodes(s string) []int {
	var out []int
	for _, m := range errcodeRE.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// runBash runs script in dir in its own process group, which is killed
// afterwards (background servers included) or when the timeout passes.
func runBash(dir, script, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sectionTimeout)
	defer cancel()
	outFile, err := os.CreateTemp("", "readme-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(outFile.Name())
	defer outFile.Close()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(hermeticEnv(), "MINISHIP_ADDR="+addr)
	// A file, not a pipe: a background server holding the output open
	// cannot keep Wait from returning.
	cmd.Stdout, cmd.Stderr = outFile, outFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the script left running
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("still running after %v (a server in the foreground? end it with &): %w", sectionTimeout, err)
	}
	b, _ := os.ReadFile(outFile.Name())
	return string(b), err
}

// hermeticEnv is the test's environment without MINISHIP_* settings that
// would change what serve or rollout do (the test-database ones stay).
func hermeticEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MINISHIP_") && !strings.HasPrefix(kv, "MINISHIP_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// copyClone copies the repository as a clean clone has it: no .git, no
// data directories or binaries left by a reader's earlier runs.
func copyClone(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.Name() == ".git" { // a directory, or a file in a git worktree
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if rel != "." && (d.Name() == ".git" || strings.HasPrefix(d.Name(), "miniship-data")) {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == "miniship" || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(p, filepath.Join(dst, rel), info.Mode().Perm())
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, perm)
}

// TestReadmeConfiguration: the flag table of "Configuration" lists exactly
// serve's flags, each with the environment variables serve reads.
func TestReadmeConfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	text, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	_, conf, ok := strings.Cut(string(text), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README has no "## Configuration" section`)
	}
	conf, _, _ = strings.Cut(conf, "\n## ")
	help, err := exec.Command(buildBinary(t), "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help: %v\n%s", err, help)
	}
	flagLine := map[string]string{}
	for _, l := range strings.Split(string(help), "\n") {
		if m := regexp.MustCompile(`^\s+(?:-\w, )?(--[\w-]+)`).FindStringSubmatch(l); m != nil && m[1] != "--help" {
			flagLine[m[1]] = l
		}
	}
	row := regexp.MustCompile("^\\| `(--[\\w-]+)` \\| ([^|]*) \\|")
	envRE := regexp.MustCompile(`MINISHIP_[A-Z_]+`)
	seen := map[string]bool{}
	for _, l := range strings.Split(conf, "\n") {
		m := row.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		seen[m[1]] = true
		hl, ok := flagLine[m[1]]
		if !ok {
			t.Errorf("README Configuration lists %s, which serve does not have", m[1])
			continue
		}
		for _, env := range envRE.FindAllString(m[2], -1) {
			if !strings.Contains(hl, env) {
				t.Errorf("README: %s falls back to %s, but serve --help says: %s", m[1], env, strings.TrimSpace(hl))
			}
		}
	}
	for f := range flagLine {
		if !seen[f] {
			t.Errorf("serve has %s, missing from the README's Configuration table", f)
		}
	}
}

// TestDemoPrintsReadmeCommands: the commands `serve --demo` prints run as
// printed, on the real clock and on the manual one (where they advance it
// instead of waiting), and after the lines that set variables they are the
// README's (but for the manual clock's advance).
func TestDemoPrintsReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	needTools(t, "bash", "curl")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readmeLines := map[string]bool{}
	for _, l := range strings.Split(string(readme), "\n") {
		readmeLines[l] = true
	}
	bin := buildBinary(t)
	for _, clock := range []string{"real", "manual"} {
		t.Run(clock, func(t *testing.T) {
			addr := freeAddr(t)
			dir := t.TempDir()
			srv := exec.Command(bin, "serve", "--demo", "--clock", clock, "--data", filepath.Join(dir, "data"), "--addr", addr, "--log-level", "error")
			stdout, err := srv.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
			// The server prints everything before it serves; read up to
			// the end of the shop A commands, then drain the pipe.
			var printed []string
			sc := bufio.NewScanner(stdout)
			in := false
			for sc.Scan() {
				l := sc.Text()
				if strings.HasSuffix(l, "to paste into bash:") {
					in = true
					continue
				}
				if in && strings.HasPrefix(l, "Shop B") {
					break
				}
				if in && strings.TrimSpace(l) != "" {
					printed = append(printed, strings.TrimPrefix(l, "  "))
				}
			}
			go func() {
				for sc.Scan() {
				}
			}()
			i := slices.IndexFunc(printed, func(l string) bool { return strings.HasPrefix(l, "CTOKEN=") })
			if len(printed) < 10 || i < 0 {
				t.Fatalf("serve --demo printed no commands: %q", printed)
			}
			for _, l := range append(printed[:1:1], printed[i:]...) { // field() and the life
				if clock == "manual" && strings.Contains(l, "/clock/advance") {
					continue
				}
				if !readmeLines[l] {
					t.Errorf("serve --demo prints a line the README lacks:\n%s", l)
				}
			}
			out, err := runBash(dir, "set -euo pipefail\n"+strings.Join(printed, "\n")+"\n", addr)
			if err != nil {
				t.Fatalf("printed commands: %v\n%s", err, out)
			}
			codes := errcodes(out)
			if len(codes) < 4 || slices.ContainsFunc(codes, func(c int) bool { return c != 0 }) || !strings.Contains(out, `"status":0`) {
				t.Errorf("printed commands: errcodes %v\n%s", codes, out)
			}
		})
	}
}
