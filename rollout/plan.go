package rollout

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/miniship/miniship/wxa"
)

// Plan is what a rollout does: which template, to which mini programs, with
// which ext_json, through which steps. See testdata/plan.yaml.
type Plan struct {
	Template TemplateRef `json:"template"`
	// UserVersion names the rollout: the state file is bound to it and the
	// crash checks recognise this rollout's commit, audit and release by it.
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	// Values are defaults for every target's values.
	Values map[string]any `json:"values,omitempty"`
	// Targets are listed inline, in TargetsFile (.csv, .json or .jsonl,
	// relative to the plan), or both.
	Targets     []Target `json:"targets,omitempty"`
	TargetsFile string   `json:"targets_file,omitempty"`
	// ExtJSON is a Go text/template rendered per target; it must yield a
	// JSON object. Its data is the target's values plus "appid"; a key
	// missing there is an error.
	ExtJSON string `json:"ext_json"`
	// Audit is the submit_audit body; an empty item_list becomes one item
	// with the mini program's first category (get_category).
	Audit wxa.SubmitAuditRequest `json:"audit"`
	// Steps is a prefix of commit, privacy_scan, submit_audit, wait_audit,
	// [gray,] release; empty means all (gray when Gray has percentages).
	Steps []string `json:"steps,omitempty"`
	Gray  Gray     `json:"gray,omitzero"`
	Poll  Poll     `json:"poll,omitzero"`

	dir   string
	ext   *template.Template
	steps []Step
}

// TemplateRef names the template in the platform's library and, for
// --dry-run, where a local copy is.
type TemplateRef struct {
	ID       int64  `json:"id"`
	Path     string `json:"path,omitempty"`
	Standard bool   `json:"standard,omitempty"`
}

// Target is one mini program.
type Target struct {
	AppID        string         `json:"appid"`
	RefreshToken string         `json:"refresh_token,omitempty"`
	Values       map[string]any `json:"values,omitempty"`
}

// Gray is the phased release between approval and release: grayrelease at
// each percentage, Wait apart, then release.
type Gray struct {
	Percentages []int    `json:"percentages,omitempty"`
	Wait        Duration `json:"wait,omitempty"`
}

// Poll paces the two waits: the privacy scan (default 10 s) and the audit
// (default 5 min). Waiting apps free their worker until the next poll;
// after the second "not yet" in a row an app's polls back off to 2, then
// 4 intervals apart. An interval given must be positive (0 would poll
// without a pause); one left out is the default.
type Poll struct {
	PrivacyScan Duration `json:"privacy_scan,omitempty"`
	Audit       Duration `json:"audit,omitempty"`
}

const (
	defaultScanPoll  = 10 * time.Second
	defaultAuditPoll = 5 * time.Minute
)

// UnmarshalJSON refuses an interval that is given but not positive, which
// the zero value of a left-out one cannot tell apart afterwards.
func (p *Poll) UnmarshalJSON(b []byte) error {
	var given struct {
		PrivacyScan json.RawMessage `json:"privacy_scan"`
		Audit       json.RawMessage `json:"audit"`
	}
	if err := decodeStrict(b, &given); err != nil {
		return fmt.Errorf("poll: %w", err)
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		def  time.Duration
		to   *Duration
	}{
		{"privacy_scan", given.PrivacyScan, defaultScanPoll, &p.PrivacyScan},
		{"audit", given.Audit, defaultAuditPoll, &p.Audit},
	} {
		var d Duration
		set, err := d.decodeField("poll."+f.name, f.raw)
		switch {
		case err != nil:
			return err
		case !set: // the default
		case d <= 0:
			return fmt.Errorf("poll.%s %v: must be positive (leave it out for the default, %v)", f.name, time.Duration(d), f.def)
		default:
			*f.to = d
		}
	}
	return nil
}

// UnmarshalJSON names the field of a bad wait, as Poll's does.
func (g *Gray) UnmarshalJSON(b []byte) error {
	var given struct {
		Percentages []int           `json:"percentages"`
		Wait        json.RawMessage `json:"wait"`
	}
	if err := decodeStrict(b, &given); err != nil {
		return fmt.Errorf("gray: %w", err)
	}
	g.Percentages = given.Percentages
	_, err := g.Wait.decodeField("gray.wait", given.Wait)
	return err
}

// decodeStrict decodes JSON, refusing unknown keys.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Duration reads "90s", "5m" or a number of seconds.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case float64:
		*d = Duration(x * float64(time.Second))
	case string:
		p, err := time.ParseDuration(x)
		if err != nil {
			return err
		}
		*d = Duration(p)
	default:
		return fmt.Errorf("duration %s: want \"90s\" or seconds", b)
	}
	return nil
}

// decodeField reads the plan field name (e.g. "gray.wait") from raw,
// naming the field in its error: encoding/json adds no field to the
// error of an UnmarshalJSON. Left out or null, it reports false and
// leaves d alone.
func (d *Duration) decodeField(name string, raw json.RawMessage) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if err := d.UnmarshalJSON(raw); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Step is a stage of the pipeline, in order; an app's state records the
// last one it completed.
type Step int

const (
	StepCommit Step = iota + 1
	StepPrivacyScan
	StepSubmitAudit
	StepWaitAudit
	StepGray
	StepRelease
)

var stepNames = [...]string{"none", "commit", "privacy_scan", "submit_audit", "wait_audit", "gray", "release"}

func (s Step) String() string {
	if s >= 0 && int(s) < len(stepNames) {
		return stepNames[s]
	}
	return "Step(" + strconv.Itoa(int(s)) + ")"
}

// LoadPlan reads a YAML or JSON plan; relative paths in it are relative to
// the file.
func LoadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := decodeYAML(b, &p); err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	p.dir = filepath.Dir(path)
	if err := p.init(); err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return &p, nil
}

// ParsePlan reads a plan from memory; relative paths resolve against dir.
func ParsePlan(b []byte, dir string) (*Plan, error) {
	var p Plan
	if err := decodeYAML(b, &p); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	p.dir = dir
	return &p, p.init()
}

// decodeYAML reads YAML (JSON is YAML) through JSON, so one set of json
// tags serves both and wxa's request types can be used as they are.
func decodeYAML(b []byte, v any) error {
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("%w (keys must be strings)", err)
	}
	return decodeStrict(j, v)
}

func (p *Plan) init() error {
	switch {
	case p.Template.ID == 0:
		return errors.New("template.id is required")
	case p.Template.ID < 0:
		return fmt.Errorf("template.id %d: must be positive (the template_id of gettemplatelist)", p.Template.ID)
	case p.Gray.Wait < 0:
		return fmt.Errorf("gray.wait %v: must not be negative (0: no wait between the phases)", time.Duration(p.Gray.Wait))
	case p.UserVersion == "":
		return errors.New("user_version is required (quote it: \"1.10\" is not 1.1)")
	case p.ExtJSON == "":
		return errors.New("ext_json is required (use \"{}\" for none)")
	case len(p.Targets) == 0 && p.TargetsFile == "":
		return errors.New("no targets: set targets or targets_file")
	}
	var err error
	if p.ext, err = template.New("ext_json").Option("missingkey=error").Funcs(funcs).Parse(p.ExtJSON); err != nil {
		return err
	}
	last := 0
	for i, v := range p.Gray.Percentages {
		if v <= last || v > 100 {
			return fmt.Errorf("gray.percentages[%d] = %d: want increasing values in 1..100", i, v)
		}
		last = v
	}
	if p.steps, err = resolveSteps(p.Steps, len(p.Gray.Percentages) > 0); err != nil {
		return err
	}
	if p.Poll.PrivacyScan == 0 { // left out: Poll.UnmarshalJSON refuses 0
		p.Poll.PrivacyScan = Duration(defaultScanPoll)
	}
	if p.Poll.Audit == 0 {
		p.Poll.Audit = Duration(defaultAuditPoll)
	}
	return p.checkTargets()
}

// checkTargets refuses, when the plan is loaded, the targets a run would
// refuse only once it has created and bound its state file: none at all, a
// target without appid, an appid listed twice. So --dry-run refuses them
// too. It reads the targets once, holding their appids (not their values).
func (p *Plan) checkTargets() error {
	first := map[string]int{} // appid → its position among the targets, from 1
	n := 0
	err := p.EachTarget(func(t Target) error {
		n++
		if t.AppID == "" {
			return fmt.Errorf("%s has no appid", p.targetName(n))
		}
		if at, dup := first[t.AppID]; dup {
			return fmt.Errorf("%s: appid %s is listed twice (first as %s)", p.targetName(n), t.AppID, p.targetName(at))
		}
		// A clone: a CSV field shares its memory with the whole line.
		first[strings.Clone(t.AppID)] = n
		return nil
	})
	if err == nil && n == 0 {
		return fmt.Errorf("no targets: targets is empty and targets_file %s lists none", p.TargetsFile)
	}
	return err
}

// targetName says where the n-th target (from 1, in EachTarget's order)
// is listed: "targets[0]", or "targets_file shops.csv, target 3".
func (p *Plan) targetName(n int) string {
	if n <= len(p.Targets) {
		return fmt.Sprintf("targets[%d]", n-1)
	}
	return fmt.Sprintf("targets_file %s, target %d", p.TargetsFile, n-len(p.Targets))
}

const stepsOrder = "steps are a prefix of commit, privacy_scan, submit_audit, wait_audit, [gray,] release"

func resolveSteps(names []string, gray bool) ([]Step, error) {
	all := []Step{StepCommit, StepPrivacyScan, StepSubmitAudit, StepWaitAudit, StepGray, StepRelease}
	if len(names) == 0 {
		if gray {
			return all, nil
		}
		return []Step{StepCommit, StepPrivacyScan, StepSubmitAudit, StepWaitAudit, StepRelease}, nil
	}
	var out []Step
	next := 0 // index into all of the next allowed step
	for k, n := range names {
		if !slices.ContainsFunc(all, func(s Step) bool { return s.String() == n }) {
			return nil, fmt.Errorf("steps[%d]: unknown step %q: %s", k, n, stepsOrder)
		}
		i := next
		for i < len(all) && all[i].String() != n {
			if all[i] != StepGray { // only gray may be skipped
				i = len(all)
			}
			i++
		}
		if i >= len(all) {
			return nil, fmt.Errorf("steps[%d]: %q out of place: %s", k, n, stepsOrder)
		}
		if all[i] == StepGray && !gray {
			return nil, fmt.Errorf("steps[%d]: gray needs gray.percentages", k)
		}
		out = append(out, all[i])
		next = i + 1
	}
	return out, nil
}

// StepList is the plan's pipeline.
func (p *Plan) StepList() []Step { return p.steps }

// Last is the step that completes an app.
func (p *Plan) Last() Step { return p.steps[len(p.steps)-1] }

// next is the first step after done.
func (p *Plan) next(done Step) (Step, bool) {
	for _, s := range p.steps {
		if s > done {
			return s, true
		}
	}
	return 0, false
}

var funcs = template.FuncMap{
	// json writes any value as a JSON literal: strings come out quoted and
	// escaped, so values cannot break the document.
	"json": func(v any) (string, error) {
		b, err := marshalNoHTML(v)
		return string(b), err
	},
	// default stands in for an empty value (a blank CSV cell). A missing
	// key is an error (a typo would otherwise render null): give defaults
	// in the plan's values.
	"default": func(def, v any) any {
		if v == nil || v == "" {
			return def
		}
		return v
	},
}

func marshalNoHTML(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// RenderError is an ext_json that did not render to a JSON object.
type RenderError struct{ Err error }

func (e *RenderError) Error() string { return "ext_json: " + e.Err.Error() }
func (e *RenderError) Unwrap() error { return e.Err }

// Render produces the compact ext_json of one target. vals is the target's
// values as stored (JSON), merged over the plan's.
func (p *Plan) Render(appid string, vals map[string]any) (string, error) {
	data := make(map[string]any, len(p.Values)+len(vals)+1)
	for k, v := range p.Values {
		data[k] = v
	}
	for k, v := range vals {
		data[k] = v
	}
	data["appid"] = appid
	var b bytes.Buffer
	if err := p.ext.Execute(&b, data); err != nil {
		return "", &RenderError{err}
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b.Bytes()); err != nil {
		return "", &RenderError{fmt.Errorf("not JSON: %w", err)}
	}
	if out.Len() == 0 || out.Bytes()[0] != '{' {
		return "", &RenderError{errors.New("not a JSON object")}
	}
	return out.String(), nil
}

func (p *Plan) path(f string) string {
	if f == "" || filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(p.dir, f)
}

// TemplatePath is the local template for --dry-run, "" when none is set.
func (p *Plan) TemplatePath() string { return p.path(p.Template.Path) }

// EachTarget streams the inline targets, then those of TargetsFile.
func (p *Plan) EachTarget(fn func(Target) error) error {
	for _, t := range p.Targets {
		if err := fn(t); err != nil {
			return err
		}
	}
	if p.TargetsFile == "" {
		return nil
	}
	return ReadTargets(p.path(p.TargetsFile), fn)
}

// ReadTargets streams a targets file without holding it: .csv with a
// header (appid, optional refresh_token, any other column becomes a
// value), .jsonl (one target object a line) or .json (an array of them).
func ReadTargets(path string, fn func(Target) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		err = readCSV(r, fn)
	case ".jsonl", ".ndjson":
		err = readJSON(r, false, fn)
	case ".json":
		err = readJSON(r, true, fn)
	default:
		err = fmt.Errorf("unknown targets format %q: want .csv, .json or .jsonl", ext)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readCSV(r io.Reader, fn func(Target) error) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	head = append([]string(nil), head...)
	col := -1
	for i, h := range head {
		head[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if head[i] == "appid" {
			col = i
		}
	}
	if col < 0 {
		return errors.New("header has no appid column")
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		t := Target{AppID: strings.TrimSpace(rec[col])}
		for i, v := range rec {
			switch head[i] {
			case "appid":
			case "refresh_token":
				t.RefreshToken = v
			default:
				if t.Values == nil {
					t.Values = make(map[string]any, len(rec))
				}
				t.Values[head[i]] = v
			}
		}
		if err := fn(t); err != nil {
			return err
		}
	}
}

func readJSON(r io.Reader, array bool, fn func(Target) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if array {
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return fmt.Errorf("want a JSON array of targets (%v)", err)
		}
	}
	for n := 1; ; n++ {
		if array && !dec.More() {
			return nil
		}
		var t Target
		if err := dec.Decode(&t); err == io.EOF && !array {
			return nil
		} else if err != nil {
			return fmt.Errorf("target %d: %w", n, err)
		}
		if err := fn(t); err != nil {
			return err
		}
	}
}
