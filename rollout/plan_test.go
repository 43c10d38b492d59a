package rollout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miniship/miniship/rollout"
)

func TestPlanSteps(t *testing.T) {
	for _, c := range []struct {
		extra, want, err string
	}{
		{"", "[commit privacy_scan submit_audit wait_audit release]", ""},
		{"gray: {percentages: [10, 50]}", "[commit privacy_scan submit_audit wait_audit gray release]", ""},
		{"steps: [commit, privacy_scan]", "[commit privacy_scan]", ""},
		{"steps: [commit, privacy_scan, submit_audit, wait_audit, release]\ngray: {percentages: [5]}", "[commit privacy_scan submit_audit wait_audit release]", ""},
		{"steps: [commit, submit_audit]", "", `steps[1]: "submit_audit" out of place`},
		{"steps: [privacy_scan]", "", `steps[0]: "privacy_scan" out of place`},
		{"steps: [commit, commit]", "", `steps[1]: "commit" out of place`},
		{"steps: [commit, deploy]", "", `steps[1]: unknown step "deploy"`},
		{"steps: [commit, privacy_scan, submit_audit, wait_audit, gray]", "", "steps[4]: gray needs gray.percentages"},
		{"gray: {percentages: [50, 10]}", "", "increasing"},
		{"unknown: 1", "", "unknown field"},
	} {
		p, err := rollout.ParsePlan([]byte("template: {id: 1}\nuser_version: \"1.0\"\next_json: '{}'\ntargets: [{appid: wxa}]\n"+c.extra), ".")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err = %v, want %q", c.extra, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.extra, err)
			continue
		}
		if got := strings.Join(strings.Fields(strings.Trim(stepsString(p), "[]")), " "); "["+got+"]" != c.want {
			t.Errorf("%q: steps %s, want %s", c.extra, got, c.want)
		}
	}
	if _, err := rollout.ParsePlan([]byte("template: {id: 1}\nuser_version: 1.10\next_json: '{}'\ntargets: [{appid: wxa}]"), "."); err == nil {
		t.Error("an unquoted user_version was accepted")
	}
}

// TestPlanValues: a value the run cannot use is refused, naming its
// field, rather than replaced; a value left out takes its default.
func TestPlanValues(t *testing.T) {
	for _, c := range []struct {
		extra, err            string
		scan, audit, grayWait time.Duration
	}{
		{extra: "", scan: 10 * time.Second, audit: 5 * time.Minute},
		{extra: "poll: {privacy_scan: 2s}", scan: 2 * time.Second, audit: 5 * time.Minute},
		{extra: "poll: {audit: 1.5}", scan: 10 * time.Second, audit: 1500 * time.Millisecond},
		{extra: "poll: {audit: 0}", err: "poll.audit 0s: must be positive (leave it out for the default, 5m0s)"},
		{extra: `poll: {privacy_scan: "0s"}`, err: "poll.privacy_scan 0s: must be positive (leave it out for the default, 10s)"},
		{extra: "poll: {privacy_scan: -1s}", err: "poll.privacy_scan -1s: must be positive"},
		{extra: "poll: {audit: -3}", err: "poll.audit -3s: must be positive"},
		{extra: "poll: {every: 1s}", err: `poll: json: unknown field "every"`},
		{extra: "gray: {percentages: [10], wait: 0}", scan: 10 * time.Second, audit: 5 * time.Minute},
		{extra: "gray: {percentages: [10], wait: 90s}", scan: 10 * time.Second, audit: 5 * time.Minute, grayWait: 90 * time.Second},
		{extra: "gray: {percentages: [10], wait: -1s}", err: "gray.wait -1s: must not be negative"},
		{extra: "gray: {percentages: [10], wait: null}", scan: 10 * time.Second, audit: 5 * time.Minute},
		{extra: "gray: {percentages: [10], wait: abc}", err: `gray.wait: time: invalid duration "abc"`},
		{extra: "gray: {percentages: [10], wait: true}", err: `gray.wait: duration true: want "90s" or seconds`},
		{extra: "gray: {percentages: [10], wiat: 1s}", err: `gray: json: unknown field "wiat"`},
		{extra: "poll: {audit: abc}", err: `poll.audit: time: invalid duration "abc"`},
		{extra: "poll: {privacy_scan: [1]}", err: `poll.privacy_scan: duration [1]: want "90s" or seconds`},
		{extra: "poll: {audit: null}", scan: 10 * time.Second, audit: 5 * time.Minute},
		{extra: "template: {id: -4}", err: "template.id -4: must be positive"},
		{extra: "template: {id: 0}", err: "template.id is required"},
		{extra: "template: {path: x}", err: "template.id is required"},
	} {
		tpl := "template: {id: 1}\n"
		if strings.HasPrefix(c.extra, "template:") {
			tpl = ""
		}
		p, err := rollout.ParsePlan([]byte(tpl+"user_version: \"1.0\"\next_json: '{}'\ntargets: [{appid: wxa}]\n"+c.extra), ".")
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err = %v, want %q", c.extra, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.extra, err)
		case time.Duration(p.Poll.PrivacyScan) != c.scan || time.Duration(p.Poll.Audit) != c.audit || time.Duration(p.Gray.Wait) != c.grayWait:
			t.Errorf("%q: poll %v/%v, gray.wait %v; want %v/%v, %v", c.extra,
				time.Duration(p.Poll.PrivacyScan), time.Duration(p.Poll.Audit), time.Duration(p.Gray.Wait), c.scan, c.audit, c.grayWait)
		}
	}
}

func stepsString(p *rollout.Plan) string {
	var s []string
	for _, st := range p.StepList() {
		s = append(s, st.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestRender(t *testing.T) {
	p, err := rollout.ParsePlan([]byte(`
template: {id: 1}
user_version: "1.0"
values: {color: red, n: ""}
targets: [{appid: wxa}]
ext_json: |
  {"extAppid": {{json .appid}}, "ext": {"name": {{json .name}}, "color": {{json .color}}, "n": {{json (default 3 .n)}}}}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Render("wxa", map[string]any{"name": `Tom "&" <Jerry>`, "color": "blue"})
	want := `{"extAppid":"wxa","ext":{"name":"Tom \"&\" <Jerry>","color":"blue","n":3}}`
	if err != nil || got != want {
		t.Fatalf("Render = %s, %v\nwant %s", got, err, want)
	}
	var re *rollout.RenderError
	if _, err := p.Render("wxa", nil); !errors.As(err, &re) || !strings.Contains(err.Error(), `"name"`) {
		t.Errorf("missing value: %v", err)
	}
	p2, _ := rollout.ParsePlan([]byte("template: {id: 1}\nuser_version: \"1\"\ntargets: [{appid: a}]\next_json: '[1]'"), ".")
	if _, err := p2.Render("a", nil); !errors.As(err, &re) {
		t.Errorf("a JSON array: %v", err)
	}
}

func TestReadTargets(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"t.csv":   "\ufeffappid,refresh_token,name\nwx1,r1,A\nwx2,,B\n",
		"t.jsonl": `{"appid":"wx1","refresh_token":"r1","values":{"name":"A"}}` + "\n" + `{"appid":"wx2","values":{"name":"B"}}` + "\n",
		"t.json":  `[{"appid":"wx1","refresh_token":"r1","values":{"name":"A"}}, {"appid":"wx2","values":{"name":"B"}}]`,
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		var got []string
		err := rollout.ReadTargets(path, func(tg rollout.Target) error {
			got = append(got, tg.AppID+"/"+tg.RefreshToken+"/"+tg.Values["name"].(string))
			return nil
		})
		if err != nil || strings.Join(got, " ") != "wx1/r1/A wx2//B" {
			t.Errorf("%s: %v %v", name, got, err)
		}
	}
}

func TestStateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b c")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.db")
	st, err := rollout.OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	// The exclusive lock is taken at the first access.
	if _, err := st.App(context.Background(), "x"); err == nil {
		t.Fatal("App of an unknown appid succeeded")
	}
	if st2, err := rollout.OpenState(path); err == nil {
		st2.Close()
		t.Fatal("a second rollout opened the state file")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}

// TestStateDiscard: Discard removes a state file that OpenState created,
// so a run that fails before its first app leaves none behind, and keeps
// one that was there before: a resumed run's progress is in it. Closing
// after it does nothing.
func TestStateDiscard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	for _, existed := range []bool{false, true} {
		if existed {
			st, err := rollout.OpenState(path)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}
		st, err := rollout.OpenState(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.App(context.Background(), "x"); err == nil { // takes the lock, writes the WAL
			t.Fatal("App of an unknown appid succeeded")
		}
		if err := st.Discard(); err != nil {
			t.Fatalf("existed %v: Discard: %v", existed, err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("existed %v: Close after Discard: %v", existed, err)
		}
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			_, err := os.Stat(f)
			if kept := err == nil; kept != (existed && f == path) {
				t.Errorf("existed %v: %s kept %v (%v)", existed, f, kept, err)
			}
		}
	}

	// A file its run created is kept once the run began on its apps, even
	// when the run then fails before its report: it holds their progress.
	worked := filepath.Join(t.TempDir(), "worked.db")
	st, err := rollout.OpenState(worked)
	if err != nil {
		t.Fatal(err)
	}
	st.MarkWorked()
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(worked); err != nil {
		t.Errorf("a worked-on state file was removed: %v", err)
	}
}

// TestExamplePlan keeps the documented example valid: it loads, and every
// ext_json it renders passes the engine.
func TestExamplePlan(t *testing.T) {
	p, err := rollout.LoadPlan("testdata/plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := stepsString(p); got != "[commit privacy_scan submit_audit wait_audit gray release]" {
		t.Errorf("steps %s", got)
	}
	rep, err := rollout.DryRun(p, "", func(f rollout.Failure) { t.Errorf("%+v", f) })
	if err != nil || rep.Targets != 2 || rep.Valid != 2 {
		t.Fatalf("DryRun: %+v, %v", rep, err)
	}
}

// TestPlanTargets: the targets a run would refuse after creating its state
// file are refused when the plan is loaded (so --dry-run refuses them
// too), each error naming where the target is listed.
func TestPlanTargets(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"header.csv":  "appid,name\n",
		"empty.json":  "[]",
		"empty.jsonl": "",
		"two.csv":     "appid,name\nwxc,C\nwxd,D\n",
		"dup.csv":     "appid,name\nwxc,C\nwxd,D\nwxc,E\n",
		"noappid.csv": "appid,name\nwxc,C\n ,D\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ targets, err string }{
		{"targets: [{appid: wxa}, {appid: wxb}]", ""},
		{"targets: [{appid: wxa}]\ntargets_file: two.csv", ""},
		{"targets: [{appid: wxa}, {appid: wxb}, {appid: wxa}]", "targets[2]: appid wxa is listed twice (first as targets[0])"},
		{"targets: [{appid: wxc}]\ntargets_file: two.csv", "targets_file two.csv, target 1: appid wxc is listed twice (first as targets[0])"},
		{"targets_file: dup.csv", "targets_file dup.csv, target 3: appid wxc is listed twice (first as targets_file dup.csv, target 1)"},
		{"targets: [{appid: wxa}, {values: {name: B}}]", "targets[1] has no appid"},
		{"targets_file: noappid.csv", "targets_file noappid.csv, target 2 has no appid"},
		{"targets_file: header.csv", "no targets: targets is empty and targets_file header.csv lists none"},
		{"targets: []\ntargets_file: empty.json", "no targets: targets is empty and targets_file empty.json lists none"},
		{"targets_file: empty.jsonl", "no targets: targets is empty and targets_file empty.jsonl lists none"},
		{"targets: []", "no targets: set targets or targets_file"},
	} {
		_, err := rollout.ParsePlan([]byte("template: {id: 1}\nuser_version: \"1\"\next_json: '{}'\n"+c.targets), dir)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: err = %v, want %q", c.targets, err, c.err)
		}
	}
}
