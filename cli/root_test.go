package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var stdout, stderr bytes.Buffer
		if exit := Main(args, strings.NewReader(""), &stdout, &stderr); exit != 0 || !strings.HasPrefix(stdout.String(), "miniship ") || !strings.Contains(stdout.String(), "go1.") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, exit, stdout.String(), stderr.String())
		}
	}
}

// TestUsageHint: a usage error names the command's --help and exits 2; an
// error of the command itself does neither (serve's exits 1).
func TestUsageHint(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file") // no data directory can be made under it
	must(t, os.WriteFile(file, nil, 0o600))
	tests := []struct {
		args []string
		hint string // "" when no hint is wanted: the command's own error, exit 1
	}{
		{[]string{"bogus"}, "Run 'miniship --help' for usage."},
		{[]string{"serve", "--nope"}, "Run 'miniship serve --help' for usage."},
		{[]string{"preview", "extra", "--template", "x", "--ext-json", "-"}, "Run 'miniship preview --help' for usage."},
		{[]string{"rollout"}, "Usage: miniship rollout PLAN [flags]\nRun 'miniship rollout --help' for usage."},
		{[]string{"serve", "--clock", "sundial"}, "Run 'miniship serve --help' for usage."},
		{[]string{"preview"}, "Usage: miniship preview --template PATH --ext-json FILE [--authorizer FILE] [--standard] [flags]\nRun 'miniship preview --help' for usage."}, // required flags missing
		{[]string{"preview", "--template", "x"}, "Run 'miniship preview --help' for usage."},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(file, "data")}, ""},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		exit := Main(tc.args, strings.NewReader(""), &stdout, &stderr)
		got := stderr.String()
		want := 2
		if tc.hint == "" {
			want = 1
		}
		if exit != want || !strings.HasPrefix(got, "miniship: ") || strings.Contains(got, "--help") != (tc.hint != "") || !strings.Contains(got, tc.hint) {
			t.Errorf("%v: exit %d, stderr %q; want %d, hint %q", tc.args, exit, got, want, tc.hint)
		}
	}
}

// TestEnvFallback: a flag the command line leaves out takes its variable,
// parsed by the flag's own Set: a good value is applied, a bad one is
// refused with exit 2 naming the variable, and the flag wins over it.
func TestEnvFallback(t *testing.T) {
	tests := []struct {
		args       []string // the command and its flags
		key, value string   // the variable
		flag       string   // the flag it stands for
		want       string   // the flag's value, or the error with exit 2
	}{
		{[]string{"serve"}, "MINISHIP_SCAN_DURATION", "90s", "scan-duration", "1m30s"},
		{[]string{"serve"}, "MINISHIP_SCAN_DURATION", "abc", "scan-duration", `MINISHIP_SCAN_DURATION="abc": time: invalid duration "abc"`},
		{[]string{"serve", "--scan-duration", "1s"}, "MINISHIP_SCAN_DURATION", "abc", "scan-duration", "1s"},
		{[]string{"serve"}, "MINISHIP_TEMPLATE_CACHE_MB", "64", "template-cache-mb", "64"},
		{[]string{"serve"}, "MINISHIP_TEMPLATE_CACHE_MB", "abc", "template-cache-mb", `MINISHIP_TEMPLATE_CACHE_MB="abc": `},
		{[]string{"serve"}, "MINISHIP_BODY_MEMORY_MB", "128", "body-memory-mb", "128"},
		{[]string{"serve", "--body-memory-mb", "32"}, "MINISHIP_BODY_MEMORY_MB", "128", "body-memory-mb", "32"},
		{[]string{"serve"}, "MINISHIP_DEMO", "true", "demo", "true"},
		{[]string{"serve"}, "MINISHIP_DEMO", "yes", "demo", `MINISHIP_DEMO="yes": `},
		{[]string{"serve"}, "MINISHIP_ADDR", "127.0.0.1:1", "addr", "127.0.0.1:1"},
		{[]string{"serve"}, "MINISHIP_FAULTS", "rate=1,errcode=-1;path=/wxa/commit,rate=0.5,delay=1s", "fault", "rate=1,errcode=-1;path=/wxa/commit,rate=0.5,delay=1s"},
		{[]string{"serve", "--fault", "rate=1,delay=1s"}, "MINISHIP_FAULTS", "rate=1,errcode=-1", "fault", "rate=1,delay=1s"},
		{[]string{"serve"}, "MINISHIP_FAULTS", "rate=1", "fault", `MINISHIP_FAULTS="rate=1": fault "rate=1": a rule needs errcode=N or delay=D (for --fault)`},
		{[]string{"serve"}, "MINISHIP_DAILY_LIMITS", "*=1000;/wxa/commit=5", "daily-limit", "*=1000;/wxa/commit=5"},
		{[]string{"serve"}, "MINISHIP_MINUTE_LIMITS", "/wxa/commit", "minute-limit", `MINISHIP_MINUTE_LIMITS="/wxa/commit": limit "/wxa/commit": want PATH=N or *=N (for --minute-limit)`},
		{[]string{"rollout", "plan.yaml"}, "MINISHIP_ROLLOUT_CONCURRENCY", "8", "concurrency", "8"},
		{[]string{"rollout", "plan.yaml"}, "MINISHIP_ROLLOUT_CONCURRENCY", "abc", "concurrency", `MINISHIP_ROLLOUT_CONCURRENCY="abc": `},
		{[]string{"rollout", "--concurrency", "4", "plan.yaml"}, "MINISHIP_ROLLOUT_CONCURRENCY", "abc", "concurrency", "4"},
		{[]string{"rollout", "plan.yaml"}, "MINISHIP_ROLLOUT_CREDENTIALS", "creds.yaml", "credentials", "creds.yaml"},
		{[]string{"bench"}, "MINISHIP_BASE_URL", "http://127.0.0.1:1", "base-url", "http://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv(tc.key, tc.value)
			if !strings.Contains(tc.want, tc.key+"=") {
				if got := flagAfterParse(t, tc.args, tc.flag); got != tc.want {
					t.Errorf("--%s = %q, want %q", tc.flag, got, tc.want)
				}
				return
			}
			var stdout, stderr bytes.Buffer
			exit := Main(tc.args, strings.NewReader(""), &stdout, &stderr)
			if exit != 2 || !strings.Contains(stderr.String(), "miniship: "+tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", exit, stderr.String(), tc.want)
			}
		})
	}
}

// flagAfterParse runs the command of args, with its environment fallbacks,
// up to its own code, and returns the value of one of its flags.
func flagAfterParse(t *testing.T, args []string, name string) string {
	t.Helper()
	root := newRoot(new(bool))
	cmd, _, err := root.Find(args)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		got = cmd.Flags().Lookup(name).Value.String()
		return nil
	}
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestEnvNamesFlags: every environment fallback belongs to a flag of its
// command, whose help names the variable (serve's) or whose command's does.
func TestEnvNamesFlags(t *testing.T) {
	n := 0
	for _, cmd := range newRoot(new(bool)).Commands() {
		for ann, key := range cmd.Annotations {
			name, ok := strings.CutPrefix(ann, envPrefix)
			if !ok {
				continue
			}
			n++
			f := cmd.Flags().Lookup(name)
			short := strings.TrimPrefix(key, "MINISHIP_ROLLOUT_")
			if f == nil || !strings.Contains(f.Usage, key) && !strings.Contains(cmd.Long, short) {
				t.Errorf("%s: %s falls back to %s, which no flag or help names", cmd.Name(), name, key)
			}
		}
	}
	if n < 20 {
		t.Errorf("%d environment fallbacks, want serve's, rollout's and bench's", n)
	}
}
