package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/miniship/miniship/extjson"
	codetpl "github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

// DryRunReport is what a dry run found; --report writes it as JSON. It
// says "dry_run": true and, since no app was worked on, counts the targets
// valid and invalid where a run's Report counts apps succeeded and failed.
type DryRunReport struct {
	DryRun      bool   `json:"dry_run"` // always true
	TemplateID  int64  `json:"template_id"`
	UserVersion string `json:"user_version"`
	// Template is the local copy of the template the ext_json were
	// applied to.
	Template string `json:"template"`
	// Steps is the plan's pipeline, which a run would take; none ran.
	Steps []string `json:"steps"`
	Span
	Targets int `json:"targets"`
	Valid   int `json:"valid"`
	Invalid int `json:"invalid"`
	// Failures are the invalid targets, in target order, at the commit
	// step, with the errcode /wxa/commit would answer.
	Failures []Failure `json:"failures"`
}

// WriteJSON writes the report, indented.
func (r *DryRunReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// DryRun renders every target's ext_json and applies it to the local
// template with the commit engine, offline. It calls fn for each failure
// (errcode as /wxa/commit would answer, 0 for a render error) as it meets
// it, and reports. Permission checks (85312 and the plugin codes) need the
// mini program's grants and are left to the server.
func DryRun(p *Plan, templatePath string, fn func(Failure)) (*DryRunReport, error) {
	if templatePath == "" {
		templatePath = p.TemplatePath()
	}
	if templatePath == "" {
		return nil, errors.New("--dry-run needs the template: set template.path in the plan or --template")
	}
	r := &DryRunReport{DryRun: true, TemplateID: p.Template.ID, UserVersion: p.UserVersion, Template: templatePath,
		Span: Span{StartedAt: time.Now()}, Failures: []Failure{}}
	for _, st := range p.steps {
		r.Steps = append(r.Steps, st.String())
	}
	tpl, err := codetpl.Open(templatePath, codetpl.Limits{})
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", templatePath, err)
	}
	err = p.EachTarget(func(t Target) error {
		r.Targets++
		f := Failure{AppID: t.AppID, Step: StepCommit.String()}
		// Values go through JSON as they do in a live run, so numbers
		// render the same.
		var vals map[string]any
		if len(t.Values) > 0 {
			b, err := marshalNoHTML(t.Values)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &vals); err != nil {
				return err
			}
		}
		ext, err := p.Render(t.AppID, vals)
		if err == nil {
			_, err = extjson.Apply(tpl, ext, extjson.Options{Standard: p.Template.Standard})
		}
		var we *wxerr.Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &we):
			f.Code, f.Kind, f.Msg = int(we.Code), itoa(int(we.Code)), we.Msg
		default:
			f.Kind, f.Msg = "ext_json", err.Error()
		}
		r.Failures = append(r.Failures, f)
		fn(f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Invalid = len(r.Failures)
	r.Valid = r.Targets - r.Invalid
	r.finish()
	return r, nil
}
