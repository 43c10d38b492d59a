package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestBenchFlagsRefused: a fleet past eight-digit appids, or one for a
// server bench did not start, and values bench would otherwise replace
// with its defaults, are refused before anything runs (no temporary
// server starts: its line would come first).
func TestBenchFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--fleet", "100000000"}, "--fleet 100000000: from 0 to 99999999"},
		{[]string{"bench", "--fleet", "-1"}, "--fleet -1: from 0 to 99999999"},
		{[]string{"bench", "--fleet", "10", "--base-url", "http://127.0.0.1:1", "--admin-key", "k"}, "leave out --base-url"},
		{[]string{"bench", "-c", "0"}, "--concurrency 0: want at least 1"},
		{[]string{"bench", "--rounds", "0"}, "--rounds 0: want at least 1"},
		{[]string{"bench", "-d", "0"}, "--duration 0s: want more than 0"},
		{[]string{"bench", "-d", "-1s"}, "--duration -1s"},
		{[]string{"bench", "--warmup", "-1s"}, "--warmup -1s"},
		{[]string{"bench", "--rate", "-5"}, "--rate -5"},
		{[]string{"bench", "--apps", "-1"}, "--apps -1"},
		{[]string{"bench", "--scenarios", "bogus"}, `unknown scenario "bogus"`},
		{[]string{"bench", "--rate", "10", "--scenarios", "read,life"}, "scenario life is a sequence of calls"},
	} {
		var stdout, stderr bytes.Buffer
		exit := Main(tc.args, strings.NewReader(""), &stdout, &stderr)
		if exit == 0 || !strings.Contains(stderr.String(), tc.want) || strings.Contains(stderr.String(), "temporary server pid") {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, exit, stderr.String(), tc.want)
		}
	}
}
