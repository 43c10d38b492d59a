package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/mstest"
	"github.com/miniship/miniship/rollout"
	"github.com/miniship/miniship/service"
)

// TestRolloutDryRun: ext_json that the engine rejects is listed per app
// with its errcode, offline, and the exit code is 1.
func TestRolloutDryRun(t *testing.T) {
	dir := t.TempDir()
	tpl, _ := filepath.Abs("../demo/template")
	plan := fmt.Sprintf(`
template: {id: 1, path: %q}
user_version: "1.0.0"
targets:
  - {appid: wxgood, values: {name: "Shop \"A\" <&>", privacy: [getLocation]}}
  - {appid: wxbadapi, values: {name: B, privacy: [getFoo]}}
  - {appid: wxexclusive, values: {name: C, privacy: [getFuzzyLocation, getLocation]}}
  - {appid: wxbadpage, values: {name: D, privacy: [], page: pages/nope/nope}}
  - {appid: wxnoname}
targets_file: more.csv
ext_json: |
  {"extAppid": {{json .appid}}, "ext": {"name": {{json .name}}},
   {{with .page}}"extPages": {{"{"}}{{json .}}: {"navigationBarTitleText": "x"}},{{end}}
   "requiredPrivateInfos": {{json .privacy}}}
values: {page: "", privacy: [getLocation]}
`, tpl)
	must(t, os.WriteFile(filepath.Join(dir, "plan.yaml"), []byte(plan), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "more.csv"), []byte("appid,name,page\nwxcsvgood,E,pages/store/store\nwxcsvbad,F,pages/gone/gone\n"), 0o600))

	var out, errb bytes.Buffer
	report := filepath.Join(dir, "report.json")
	code := Main([]string{"rollout", "--dry-run", "--report", report, filepath.Join(dir, "plan.yaml")}, nil, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	want := map[string]string{
		"wxbadapi": "85310", "wxexclusive": "85311", "wxbadpage": "85045", "wxnoname": "ext_json", "wxcsvbad": "85045",
	}
	var rep rollout.DryRunReport
	b, err := os.ReadFile(report)
	must(t, err)
	must(t, json.Unmarshal(b, &rep))
	// The report says it is a dry run, of which rollout, and counts no app
	// as worked on.
	if !rep.DryRun || rep.TemplateID != 1 || rep.UserVersion != "1.0.0" ||
		strings.Join(rep.Steps, " ") != "commit privacy_scan submit_audit wait_audit release" || rep.StartedAt.IsZero() ||
		rep.Targets != 7 || rep.Valid != 2 || rep.Invalid != 5 {
		t.Errorf("report:\n%s", b)
	}
	var keys map[string]any
	must(t, json.Unmarshal(b, &keys))
	for _, k := range []string{"succeeded", "failed", "pending", "outcomes", "run"} {
		if _, ok := keys[k]; ok {
			t.Errorf("a dry-run report has %q:\n%s", k, b)
		}
	}
	got := map[string]string{}
	for _, f := range rep.Failures {
		got[f.AppID] = f.Label()
		if !strings.Contains(out.String(), f.AppID+"\t"+f.Label()+"\t") {
			t.Errorf("stdout does not list %s %s:\n%s", f.AppID, f.Label(), out.String())
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("failures %v, want %v\n%s", got, want, out.String())
	}
	if !strings.Contains(out.String(), "dry run: 7 targets, 5 invalid") {
		t.Errorf("stdout:\n%s", out.String())
	}
}

// TestRolloutCommand drives the command end to end against an in-process
// server: the secret from the environment, the ticket from the admin API,
// the refresh tokens from a file; exit 0 and a report of 3 releases.
func TestRolloutCommand(t *testing.T) {
	s := mstest.New(t, mstest.Options{Config: service.Config{ScanDuration: time.Millisecond, AutoApprove: time.Millisecond}})
	p := s.Platform(t, nil)
	tplID := s.Template(t, p.AppID, nil, 0)
	dir := t.TempDir()
	var tokens strings.Builder
	tokens.WriteString("appid,refresh_token\n")
	for i := range 3 {
		a, refresh := s.MiniProgram(t, p.AppID, &miniship.Authorizer{AppID: fmt.Sprintf("wxcli%d", i), PrivacyAPIs: []string{"getLocation"}})
		fmt.Fprintf(&tokens, "%s,%s\n", a.AppID, refresh)
	}
	must(t, os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens.String()), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "plan.json"), fmt.Appendf(nil, `{
		"template": {"id": %d}, "user_version": "1.0.1",
		"targets": [{"appid": "wxcli0"}, {"appid": "wxcli1"}, {"appid": "wxcli2"}],
		"ext_json": "{\"ext\": {\"appid\": {{json .appid}}}}",
		"poll": {"privacy_scan": "10ms", "audit": 0.01}
	}`, tplID), 0o600))
	stop := runClock(s)
	defer stop()

	t.Setenv("MINISHIP_ROLLOUT_COMPONENT_SECRET", p.Secret)
	var out, errb bytes.Buffer
	report := filepath.Join(dir, "report.json")
	code := Main([]string{"rollout", filepath.Join(dir, "plan.json"),
		"--base-url", s.URL, "--admin-key", s.AdminKey, "--component-appid", p.AppID,
		"--refresh-tokens", filepath.Join(dir, "tokens.csv"), "--state", filepath.Join(dir, "state.db"),
		"--report", report}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	var rep rollout.Report
	b, err := os.ReadFile(report)
	must(t, err)
	must(t, json.Unmarshal(b, &rep))
	if rep.Succeeded != 3 || rep.Steps[len(rep.Steps)-1].Step != "release" || rep.Steps[len(rep.Steps)-1].Done != 3 {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(out.String(), "release       3     0       0") {
		t.Errorf("summary:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "state file: "+filepath.Join(dir, "state.db")+" (run the same command again to resume)") {
		t.Errorf("the run did not say where its state file is:\n%s", errb.String())
	}

	// Another rollout's state file: running again cannot help, so no hint
	// to run again.
	b, err = os.ReadFile(filepath.Join(dir, "plan.json"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "plan.json"), bytes.Replace(b, []byte(`"1.0.1"`), []byte(`"1.0.2"`), 1), 0o600))
	out.Reset()
	errb.Reset()
	code = Main([]string{"rollout", filepath.Join(dir, "plan.json"),
		"--base-url", s.URL, "--admin-key", s.AdminKey, "--component-appid", p.AppID,
		"--refresh-tokens", filepath.Join(dir, "tokens.csv"), "--state", filepath.Join(dir, "state.db")}, nil, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), fmt.Sprintf(`belongs to the rollout of template %d, user_version "1.0.1"`, tplID)) ||
		!strings.Contains(errb.String(), "--reset") || strings.Contains(errb.String(), "resume") {
		t.Errorf("another rollout's state file: exit %d, want 2 and no hint to resume\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}

// runClock moves the server clock so privacy scans end and audits are
// auto-approved.
func runClock(s *mstest.Server) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				s.Advance(20 * time.Millisecond)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRolloutInterruptedEarly: a run interrupted before it has a report
// (here while opening the state file's rollout) exits 1, "interrupted",
// as documented, not 2 as for a bad plan.
func TestRolloutInterruptedEarly(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "plan.json"), []byte(`{
		"template": {"id": 1}, "user_version": "1.0.1", "targets": [{"appid": "wxa"}],
		"ext_json": "{}"
	}`), 0o600))
	cmd := newRolloutCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{filepath.Join(dir, "plan.json"), "--base-url", "http://127.0.0.1:1",
		"--component-appid", "wxc", "--component-secret", "s", "--ticket", "t",
		"--state", filepath.Join(dir, "state.db"), "--no-progress"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := cmd.ExecuteContext(ctx)
	if ee, ok := err.(exitError); !ok || ee.code != 1 || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("interrupted run: %v, stderr %q; want exit 1 and the resume hint", err, errb.String())
	}
	// Nothing ran: the state file it created is not left behind.
	if _, err := os.Stat(filepath.Join(dir, "state.db")); !os.IsNotExist(err) {
		t.Errorf("the state file was left behind (%v)", err)
	}
}

// TestRolloutStartFails: a run that fails before it works on any app (here
// the SDK client refuses the base URL, before the ticket is set) removes the
// state file it created, leaving no empty one behind; a state file that was
// there before, holding a rollout's progress, is kept as it was.
func TestRolloutStartFails(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	must(t, os.WriteFile(plan, []byte(`{
		"template": {"id": 1}, "user_version": "1.0.1", "targets": [{"appid": "wxa"}],
		"ext_json": "{}"
	}`), 0o600))
	state := filepath.Join(dir, "state.db")
	run := func(baseURL string) (int, string) {
		var out, errb bytes.Buffer
		code := Main([]string{"rollout", plan, "--base-url", baseURL, "--component-appid", "wxc", "--component-secret", "s",
			"--ticket", "t", "--state", state, "--no-progress", "--max-attempts", "1"}, nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	const badURL, badURLErr = "http://bad%zz", `invalid URL escape "%zz"`
	if code, output := run(badURL); code != 2 || !strings.Contains(output, badURLErr) || strings.Contains(output, "resume") {
		t.Fatalf("bad base URL: exit %d, want 2 and %q:\n%s", code, badURLErr, output)
	}
	for _, f := range []string{state, state + "-wal", state + "-shm"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s was left behind (%v)", f, err)
		}
	}

	// A run that worked on its app (which fails: no refresh token) keeps
	// its file; a later run that fails at the start leaves it as it was.
	if code, output := run("http://127.0.0.1:1"); code != 1 || !strings.Contains(output, "no_refresh_token") {
		t.Fatalf("first run: exit %d, want 1 and no_refresh_token:\n%s", code, output)
	}
	if code, output := run(badURL); code != 2 || !strings.Contains(output, badURLErr) {
		t.Fatalf("bad base URL on a used state file: exit %d, want 2 and %q:\n%s", code, badURLErr, output)
	}
	st, err := rollout.OpenState(state)
	must(t, err)
	defer st.Close()
	if a, err := st.App(context.Background(), "wxa"); err != nil || a.Status != "failed" || a.ErrMsg == "" {
		t.Errorf("the used state file lost its app: %+v, %v", a, err)
	}
}

// TestRolloutRefusesTargets: targets a run cannot use (an appid listed
// twice, a targets file with no rows) are refused alike by --dry-run and
// by the real run, with exit 2, before the real run creates its state file.
func TestRolloutRefusesTargets(t *testing.T) {
	tpl, _ := filepath.Abs("../demo/template")
	for _, c := range []struct{ name, targets, file, err string }{
		{"inline twice", "targets: [{appid: wxa}, {appid: wxa}]", "", "targets[1]: appid wxa is listed twice"},
		{"file twice", "targets: [{appid: wxa}]\ntargets_file: t.csv", "appid\nwxb\nwxa\n", "targets_file t.csv, target 2: appid wxa is listed twice"},
		{"file with a header only", "targets_file: t.csv", "appid,name\n", "no targets: targets is empty and targets_file t.csv lists none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			plan := filepath.Join(dir, "plan.yaml")
			must(t, os.WriteFile(plan, fmt.Appendf(nil, "template: {id: 1, path: %q}\nuser_version: \"1.0.0\"\next_json: '{}'\n%s\n", tpl, c.targets), 0o600))
			if c.file != "" {
				must(t, os.WriteFile(filepath.Join(dir, "t.csv"), []byte(c.file), 0o600))
			}
			state := filepath.Join(dir, "state.db")
			for _, args := range [][]string{
				{"rollout", "--dry-run", "--report", filepath.Join(dir, "dr.json"), plan},
				{"rollout", plan, "--base-url", "http://127.0.0.1:1", "--component-appid", "wxc", "--component-secret", "s",
					"--ticket", "t", "--state", state, "--no-progress"},
			} {
				var out, errb bytes.Buffer
				code := Main(args, nil, &out, &errb)
				if code != 2 || !strings.Contains(errb.String(), c.err) || strings.Contains(errb.String(), "resume") {
					t.Errorf("%v: exit %d, want 2 and %q\nstdout:\n%s\nstderr:\n%s", args, code, c.err, out.String(), errb.String())
				}
			}
			for _, f := range []string{state, filepath.Join(dir, "dr.json")} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("%s was created (%v)", f, err)
				}
			}
		})
	}
}

// TestRolloutRefusesRefreshTokens: refresh tokens a run cannot use, or
// would use by mistake, from --refresh-tokens, its variable or the
// credentials file, are refused alike by --dry-run and by the real run,
// with exit 2, before the real run creates its state file, or, resuming,
// binds or resets one.
func TestRolloutRefusesRefreshTokens(t *testing.T) {
	tpl, _ := filepath.Abs("../demo/template")
	for _, c := range []struct {
		name string
		args []string // how the tokens are given
		env  string   // MINISHIP_ROLLOUT_REFRESH_TOKENS
		file string   // t.csv
		err  string
	}{
		{"unreadable", []string{"--refresh-tokens", "missing.csv"}, "", "", "refresh tokens: open missing.csv: no such file or directory"},
		{"malformed", []string{"--refresh-tokens", "t.csv"}, "", "id,refresh_token\nwxa,r\n", "refresh tokens: t.csv: header has no appid column"},
		{"no token", []string{"--refresh-tokens", "t.csv"}, "", "appid,refresh_token\nwxz,r\nwxa,\n", "refresh tokens: t.csv: entry 2 (appid wxa) has no refresh_token"},
		{"twice, from the variable", nil, "t.csv", "appid,refresh_token\nwxa,r\nwxa,r2\n", "refresh tokens: t.csv: entry 2: appid wxa is listed twice (first as entry 1)"},
		{"twice, from the credentials", []string{"--credentials", "creds.yaml"}, "", "appid,refresh_token\nwxa,r\n", "t.csv: entry 1: appid wxa is listed twice (first as credentials refresh_tokens.wxa)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir) // the files as an operator names them
			must(t, os.WriteFile("plan.yaml", fmt.Appendf(nil, "template: {id: 1, path: %q}\nuser_version: \"1.0.0\"\next_json: '{}'\ntargets: [{appid: wxa}]\n", tpl), 0o600))
			must(t, os.WriteFile("creds.yaml", []byte("refresh_tokens_file: t.csv\nrefresh_tokens: {wxa: r}\n"), 0o600))
			if c.file != "" {
				must(t, os.WriteFile("t.csv", []byte(c.file), 0o600))
			}
			if c.env != "" {
				t.Setenv("MINISHIP_ROLLOUT_REFRESH_TOKENS", c.env)
			}
			for _, args := range [][]string{
				{"rollout", "--dry-run", "--report", "dr.json", "plan.yaml"},
				{"rollout", "plan.yaml", "--base-url", "http://127.0.0.1:1", "--component-appid", "wxc", "--component-secret", "s",
					"--ticket", "t", "--state", "state.db", "--no-progress", "--max-attempts", "1"},
			} {
				var out, errb bytes.Buffer
				code := Main(append(args, c.args...), nil, &out, &errb)
				if code != 2 || !strings.Contains(errb.String(), c.err) || strings.Contains(errb.String(), "resume") {
					t.Errorf("%v: exit %d, want 2 and %q\nstdout:\n%s\nstderr:\n%s", args, code, c.err, out.String(), errb.String())
				}
			}
			for _, f := range []string{"state.db", "dr.json"} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("%s was created (%v)", f, err)
				}
			}
		})
	}

	// Resuming with --reset: the refusal comes before the reset, so the
	// apps of the file's rollout are still there.
	dir := t.TempDir()
	plan, state, tokens := filepath.Join(dir, "plan.json"), filepath.Join(dir, "state.db"), filepath.Join(dir, "t.csv")
	must(t, os.WriteFile(plan, []byte(`{"template": {"id": 1}, "user_version": "1.0.1", "targets": [{"appid": "wxa"}], "ext_json": "{}"}`), 0o600))
	must(t, os.WriteFile(tokens, []byte("appid,refresh_token\nwxa,\n"), 0o600))
	args := []string{"rollout", plan, "--base-url", "http://127.0.0.1:1", "--component-appid", "wxc", "--component-secret", "s",
		"--ticket", "t", "--state", state, "--no-progress", "--max-attempts", "1"}
	var out, errb bytes.Buffer
	if code := Main(args, nil, &out, &errb); code != 1 {
		t.Fatalf("first run: exit %d, want 1 (wxa has no refresh token)\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := Main(append(args, "--reset", "--refresh-tokens", tokens), nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "entry 1 (appid wxa) has no refresh_token") {
		t.Fatalf("--reset with a bad --refresh-tokens: exit %d, want 2\nstderr:\n%s", code, errb.String())
	}
	st, err := rollout.OpenState(state)
	must(t, err)
	defer st.Close()
	if a, err := st.App(context.Background(), "wxa"); err != nil || a.Status != "failed" {
		t.Errorf("the refused run reset the state file: wxa %+v, %v", a, err)
	}
}

// TestRolloutFlagValues: flag values that make no sense are refused with
// exit 2, naming the flag, rather than replaced by the engine's defaults;
// a dry run refuses them as the real run does.
func TestRolloutFlagValues(t *testing.T) {
	dir := t.TempDir()
	tpl, _ := filepath.Abs("../demo/template")
	plan := filepath.Join(dir, "plan.yaml")
	must(t, os.WriteFile(plan, fmt.Appendf(nil, "template: {id: 1, path: %q}\nuser_version: \"1.0.0\"\next_json: '{}'\ntargets: [{appid: wxa}]\n", tpl), 0o600))
	for _, c := range []struct {
		args []string
		env  string // MINISHIP_ROLLOUT_CONCURRENCY
		err  string
	}{
		{args: nil},
		{args: []string{"--max-attempts", "1", "--commit-wait", "1ms", "--rate", "0", "--concurrency", "1"}},
		{args: []string{"--max-attempts", "0"}, err: "--max-attempts 0: must be at least 1"},
		{args: []string{"--max-attempts", "-1"}, err: "--max-attempts -1: must be at least 1"},
		{args: []string{"--commit-wait", "0"}, err: "--commit-wait 0s: must be positive"},
		{args: []string{"--commit-wait", "-5s"}, err: "--commit-wait -5s: must be positive"},
		{args: []string{"--rate", "-1"}, err: "--rate -1: must not be negative (0: no limit)"},
		{args: []string{"--concurrency", "0"}, err: "--concurrency (or MINISHIP_ROLLOUT_CONCURRENCY) 0: must be at least 1"},
		{env: "-2", err: "--concurrency (or MINISHIP_ROLLOUT_CONCURRENCY) -2: must be at least 1"},
	} {
		t.Setenv("MINISHIP_ROLLOUT_CONCURRENCY", c.env) // restored after the test
		if c.env == "" {
			os.Unsetenv("MINISHIP_ROLLOUT_CONCURRENCY") // set but empty is a value, and a bad one
		}
		var out, errb bytes.Buffer
		code := Main(append([]string{"rollout", plan, "--dry-run"}, c.args...), nil, &out, &errb)
		want := 0
		if c.err != "" {
			want = 2
		}
		if code != want || !strings.Contains(errb.String(), c.err) {
			t.Errorf("%v (MINISHIP_ROLLOUT_CONCURRENCY=%q): exit %d, want %d and %q\nstdout:\n%s\nstderr:\n%s", c.args, c.env, code, want, c.err, out.String(), errb.String())
		}
	}
}
