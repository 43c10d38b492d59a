package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/extjson"
	"github.com/miniship/miniship/service"
	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

func init() { commands = append(commands, newPreviewCmd) }

// newPreviewCmd is `miniship preview`: apply an ext_json to a template
// offline and print what /wxa/commit would produce. Success prints
// {"app","pages","ext"} and exits 0; any failure prints {"errcode","errmsg"}
// and exits 1, so scripts always get one JSON object. Warnings (things a
// commit accepts but a person almost certainly did not mean, and checks
// skipped for want of --authorizer) go to stderr and do not change the exit.
func newPreviewCmd() *cobra.Command {
	var tplPath, extPath, authPath string
	var standard bool
	cmd := &cobra.Command{
		Use:   "preview --template PATH --ext-json FILE [--authorizer FILE] [--standard]",
		Short: "Apply an ext_json to a template (directory or .zip) offline and print the effective app.json and page configs",
		Long: `Apply an ext_json to a template offline, as /wxa/commit would.
FILE holds the ext_json content itself (not the commit request); - reads stdin.
Prints {"app": ..., "pages": ..., "ext": ...} on success (exit 0), or
{"errcode": N, "errmsg": "..."} on failure (exit 1).

--authorizer FILE is the mini program as JSON, the body of
POST /miniship/v1/authorizers (or what GET /miniship/v1/authorizers/{appid}
returns): its privacy_apis and plugins grants are applied as a commit applies
them (85312, 80067, 80082, 80066). Without it those checks are skipped and a
warning on stderr names what was not checked.`,
		Example: `  miniship preview --template demo/template --ext-json ext.json
  miniship preview --template tpl.zip --authorizer shop.json --ext-json - <<<'{"ext":{"shopName":"A"}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var a *miniship.Authorizer
			if authPath != "" {
				var err error
				if a, err = loadAuthorizer(authPath); err != nil {
					return err // a usage problem, not an errcode: exit 2
				}
			}
			res, ext, err := preview(cmd.InOrStdin(), tplPath, extPath, standard, a)
			for _, w := range extjson.Lint(ext) {
				fmt.Fprintln(cmd.ErrOrStderr(), "miniship preview: warning:", w)
			}
			var out any = res
			if err != nil {
				e := wxerr.From(err)
				out = struct {
					Code int    `json:"errcode"`
					Msg  string `json:"errmsg"`
				}{int(e.Code), e.Msg}
			} else if a == nil {
				for _, w := range unchecked(res) {
					fmt.Fprintln(cmd.ErrOrStderr(), "miniship preview: warning:", w)
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(out); werr != nil {
				return werr
			}
			if err != nil {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&tplPath, "template", "", "template directory or .zip file")
	cmd.Flags().StringVar(&extPath, "ext-json", "", "file holding the ext_json content, - for stdin")
	cmd.Flags().StringVar(&authPath, "authorizer", "", "the mini program as JSON (the body of POST /miniship/v1/authorizers): apply its privacy_apis and plugins grants")
	cmd.Flags().BoolVar(&standard, "standard", false, "the template is a standard-library template (only extAppid, ext, window allowed)")
	cmd.MarkFlagRequired("template")
	cmd.MarkFlagRequired("ext-json")
	return cmd
}

// loadAuthorizer reads the mini program strictly, like the admin API: a
// misspelt privacy_apis would otherwise silently grant nothing.
func loadAuthorizer(path string) (*miniship.Authorizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--authorizer: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a miniship.Authorizer
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("--authorizer %s: not the JSON of POST /miniship/v1/authorizers: %w", path, err)
	}
	return &a, nil
}

// preview returns the result and the ext_json it read (for Lint).
func preview(stdin io.Reader, tplPath, extPath string, standard bool, a *miniship.Authorizer) (*extjson.Result, string, error) {
	t, err := template.Open(tplPath, template.Limits{})
	if err != nil {
		return nil, "", err
	}
	var r io.Reader = stdin
	if extPath != "-" {
		f, err := os.Open(extPath)
		if err != nil {
			return nil, "", wxerr.Errorf(wxerr.ExtJSONParseFail, "cannot read ext_json: %v", err)
		}
		defer f.Close()
		r = f
	}
	// One byte past the limit is enough for Apply to refuse it.
	b, err := io.ReadAll(io.LimitReader(r, extjson.DefaultMaxBytes+1))
	if err != nil {
		return nil, "", wxerr.Errorf(wxerr.ExtJSONParseFail, "cannot read ext_json: %v", err)
	}
	opt := extjson.Options{Standard: standard}
	if a != nil {
		opt.Grants = service.GrantsOf(a)
	}
	res, err := extjson.Apply(t, string(b), opt)
	return res, string(b), err
}

// unchecked names the grant checks a commit would run on this result that
// preview skipped for want of --authorizer.
func unchecked(res *extjson.Result) []string {
	var out []string
	if len(res.RequiredPrivateInfos) > 0 {
		out = append(out, fmt.Sprintf("requiredPrivateInfos %q not checked against the mini program's privacy grants (a commit answers 85312 for one it lacks); pass --authorizer FILE", res.RequiredPrivateInfos))
	}
	var plugins []string
	add := func(v any) {
		m, _ := v.(map[string]any)
		plugins = append(plugins, slices.Sorted(maps.Keys(m))...)
	}
	add(res.App["plugins"])
	_, subs, _ := template.SubpackagesKey(res.App)
	items, _ := subs.([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		add(m["plugins"])
	}
	if len(plugins) > 0 {
		out = append(out, fmt.Sprintf("plugins %q not checked against the mini program's plugin grants (80067, 80082, 80066 on commit); pass --authorizer FILE", plugins))
	}
	return out
}
