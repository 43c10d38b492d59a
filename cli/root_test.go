package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var stdout, stderr bytes.Buffer
		if exit := Main(args, strings.NewReader(""), &stdout, &stderr); exit != 0 || !strings.HasPrefix(stdout.String(), "miniship ") || !strings.Contains(stdout.String(), "go1.") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, exit, stdout.String(), stderr.String())
		}
	}
}

// TestUsageHint: a usage error names the command's --help; an error of the
// command itself does not.
func TestUsageHint(t *testing.T) {
	tests := []struct {
		args []string
		hint string // "" when no hint is wanted
	}{
		{[]string{"bogus"}, "Run 'miniship --help' for usage."},
		{[]string{"serve", "--nope"}, "Run 'miniship serve --help' for usage."},
		{[]string{"preview", "extra", "--template", "x", "--ext-json", "-"}, "Run 'miniship preview --help' for usage."},
		{[]string{"rollout"}, "Usage: miniship rollout PLAN [flags]\nRun 'miniship rollout --help' for usage."},
		{[]string{"serve", "--clock", "sundial", "--data", t.TempDir()}, ""},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		exit := Main(tc.args, strings.NewReader(""), &stdout, &stderr)
		got := stderr.String()
		if exit != 2 || !strings.HasPrefix(got, "miniship: ") || strings.Contains(got, "--help") != (tc.hint != "") || !strings.Contains(got, tc.hint) {
			t.Errorf("%v: exit %d, stderr %q; want hint %q", tc.args, exit, got, tc.hint)
		}
	}
}
