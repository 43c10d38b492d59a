package cli

import (
	"encoding/json"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/miniship/miniship/extjson"
	"github.com/miniship/miniship/template"
	"github.com/miniship/miniship/wxerr"
)

func init() { commands = append(commands, newPreviewCmd) }

// newPreviewCmd is `miniship preview`: apply an ext_json to a template
// offline and print what /wxa/commit would produce. Success prints
// {"app","pages","ext"} and exits 0; any failure prints {"errcode","errmsg"}
// and exits 1, so scripts always get one JSON object.
func newPreviewCmd() *cobra.Command {
	var tplPath, extPath string
	var standard bool
	cmd := &cobra.Command{
		Use:   "preview --template PATH --ext-json FILE [--standard]",
		Short: "Apply an ext_json to a template (directory or .zip) offline and print the effective app.json and page configs",
		Long: `Apply an ext_json to a template offline, as /wxa/commit would.
FILE holds the ext_json content itself (not the commit request); - reads stdin.
Prints {"app": ..., "pages": ..., "ext": ...} on success (exit 0), or
{"errcode": N, "errmsg": "..."} on failure (exit 1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := preview(cmd.InOrStdin(), tplPath, extPath, standard)
			var out any = res
			if err != nil {
				e := wxerr.From(err)
				out = struct {
					Code int    `json:"errcode"`
					Msg  string `json:"errmsg"`
				}{int(e.Code), e.Msg}
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
	cmd.Flags().BoolVar(&standard, "standard", false, "the template is a standard-library template (only extAppid, ext, window allowed)")
	cmd.MarkFlagRequired("template")
	cmd.MarkFlagRequired("ext-json")
	return cmd
}

func preview(stdin io.Reader, tplPath, extPath string, standard bool) (*extjson.Result, error) {
	t, err := template.Open(tplPath, template.Limits{})
	if err != nil {
		return nil, err
	}
	var r io.Reader = stdin
	if extPath != "-" {
		f, err := os.Open(extPath)
		if err != nil {
			return nil, wxerr.Errorf(wxerr.ExtJSONParseFail, "cannot read ext_json: %v", err)
		}
		defer f.Close()
		r = f
	}
	// One byte past the limit is enough for Apply to refuse it.
	b, err := io.ReadAll(io.LimitReader(r, extjson.DefaultMaxBytes+1))
	if err != nil {
		return nil, wxerr.Errorf(wxerr.ExtJSONParseFail, "cannot read ext_json: %v", err)
	}
	return extjson.Apply(t, string(b), extjson.Options{Standard: standard})
}
