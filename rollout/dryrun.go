package rollout

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/miniship/miniship/extjson"
	codetpl "github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

// DryRun renders every target's ext_json and applies it to the local
// template with the commit engine, offline. It calls fn for each failure
// (errcode as /wxa/commit would answer, 0 for a render error) and returns
// how many targets it checked. Permission checks (85312 and the plugin
// codes) need the mini program's grants and are left to the server.
func DryRun(p *Plan, templatePath string, fn func(Failure)) (int, error) {
	if templatePath == "" {
		templatePath = p.TemplatePath()
	}
	if templatePath == "" {
		return 0, errors.New("--dry-run needs the template: set template.path in the plan or --template")
	}
	tpl, err := codetpl.Open(templatePath, codetpl.Limits{})
	if err != nil {
		return 0, fmt.Errorf("template %s: %w", templatePath, err)
	}
	n := 0
	err = p.EachTarget(func(t Target) error {
		n++
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
		fn(f)
		return nil
	})
	return n, err
}
