package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestBenchFleetRefused: a fleet past eight-digit appids, or one for a
// server bench did not start, is refused before anything runs.
func TestBenchFleetRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--fleet", "100000000"}, "--fleet 100000000: from 0 to 99999999"},
		{[]string{"bench", "--fleet", "-1"}, "--fleet -1: from 0 to 99999999"},
		{[]string{"bench", "--fleet", "10", "--base-url", "http://127.0.0.1:1", "--admin-key", "k"}, "leave out --base-url"},
	} {
		var stdout, stderr bytes.Buffer
		exit := Main(tc.args, strings.NewReader(""), &stdout, &stderr)
		if exit == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, exit, stderr.String(), tc.want)
		}
	}
}
