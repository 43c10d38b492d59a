package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeFlagValues: values serve cannot honour (a negative duration, a
// cache size out of range, a blank admin key, an unknown clock or log
// level, a bad pattern) are refused while the flags are parsed, exit 2,
// naming the flag or the variable, before anything starts; their bounds
// are accepted. A bad fault rule or limit is refused quoting it, in the
// flag's syntax, and naming the flag or the variable it came from.
func TestServeFlagValues(t *testing.T) {
	// --data under a file: were a value let through, serve would stop at
	// its data directory instead of listening.
	file := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(file, nil, 0o600))
	tests := []struct {
		args     []string
		key, val string // an environment variable, when set
		want     string // the error; "" when the value is accepted
	}{
		{args: []string{"--scan-duration", "-1s"}, want: `invalid argument "-1s" for "--scan-duration" flag: must not be negative`},
		{args: []string{"--commit-latency", "-1ms"}, want: `"--commit-latency" flag: must not be negative`},
		{args: []string{"--auto-approve", "-1s"}, want: `"--auto-approve" flag: must not be negative`},
		{args: []string{"--auto-grant", "-1s"}, want: `"--auto-grant" flag: must not be negative`},
		{args: []string{"--shutdown-timeout", "-1s"}, want: `"--shutdown-timeout" flag: must not be negative`},
		{args: []string{"--retain-history", "-5h"}, want: `"--retain-history" flag: must not be negative`},
		{args: []string{"--retain-events", "-5h"}, want: `"--retain-events" flag: must not be negative`},
		{key: "MINISHIP_RETAIN_HISTORY", val: "-5h", want: `MINISHIP_RETAIN_HISTORY="-5h": must not be negative (for --retain-history)`},
		{args: []string{"--template-cache-mb", "99999999999999"}, want: `invalid argument "99999999999999" for "--template-cache-mb" flag: want a whole number from 1 to 65536`},
		{args: []string{"--template-cache-mb", "0"}, want: `"--template-cache-mb" flag: want a whole number from 1 to 65536`},
		{key: "MINISHIP_TEMPLATE_CACHE_MB", val: "-1", want: `MINISHIP_TEMPLATE_CACHE_MB="-1": want a whole number from 1 to 65536`},
		{args: []string{"--admin-key", " "}, want: `invalid argument " " for "--admin-key" flag: must not be blank`},
		{args: []string{"--admin-key", ""}, want: `"--admin-key" flag: must not be blank`},
		{key: "MINISHIP_ADMIN_KEY", val: " \t", want: `MINISHIP_ADMIN_KEY=" \t": must not be blank`},
		{args: []string{"--admin-key", "k"}},
		{args: []string{"--addr", ""}, want: `invalid argument "" for "--addr" flag: want host:port`},
		{args: []string{"--addr", "8080"}, want: `"--addr" flag: want host:port`},
		{args: []string{"--clock", "sundial"}, want: `invalid argument "sundial" for "--clock" flag: must be real or manual`},
		{key: "MINISHIP_CLOCK", val: "sundial", want: `MINISHIP_CLOCK="sundial": must be real or manual`},
		{key: "MINISHIP_LOG_LEVEL", val: "loud", want: `MINISHIP_LOG_LEVEL="loud": slog: level string "loud": unknown name`},
		{key: "MINISHIP_AUTO_REJECT_PATTERN", val: "(", want: `MINISHIP_AUTO_REJECT_PATTERN="(": error parsing regexp`},
		{args: []string{"--clock", "manual", "--log-level", "debug", "--auto-reject-pattern", "casino"}},
		{args: []string{"--fault", "path=/wxa/commit,rate=0.5,errcode=-1,delay=-200ms"}, want: `fault "path=/wxa/commit,rate=0.5,errcode=-1,delay=-200ms": delay must be between 0 and 60s`},
		{args: []string{"--fault", "rate=1,errcode=-1", "--fault", "rate=2"}, want: `invalid argument "rate=2" for "--fault" flag: fault "rate=2": rate must be between 0 and 1`},
		{key: "MINISHIP_FAULTS", val: "rate=1,errcode=-1;path=nosuchpath,rate=0.5", want: `MINISHIP_FAULTS="path=nosuchpath,rate=0.5": fault "path=nosuchpath,rate=0.5": a rule needs errcode=N or delay=D (for --fault)`},
		{args: []string{"--daily-limit", "/wxa/commit=100", "--daily-limit", "/wxa/commit"}, want: `invalid argument "/wxa/commit" for "--daily-limit" flag: limit "/wxa/commit": want PATH=N or *=N`},
		{key: "MINISHIP_DAILY_LIMITS", val: "*=1000;commit=5", want: `MINISHIP_DAILY_LIMITS="commit=5": limit "commit=5": want PATH=N or *=N (for --daily-limit)`},
		{args: []string{"--minute-limit", "/wxa/commit=-1"}, want: `invalid argument "/wxa/commit=-1" for "--minute-limit" flag: limit "/wxa/commit=-1": want PATH=N or *=N`},
		{key: "MINISHIP_MINUTE_LIMITS", val: "/wxa/commit=ten", want: `MINISHIP_MINUTE_LIMITS="/wxa/commit=ten": limit "/wxa/commit=ten": want PATH=N or *=N (for --minute-limit)`},
		{args: []string{"--fault", "rate=1,errcode=-1", "--daily-limit", "*=1000", "--minute-limit", "/wxa/commit=10"}},
		{key: "MINISHIP_FAULTS", val: ""},
		{args: []string{"--scan-duration", "0", "--retain-history", "0", "--shutdown-timeout", "0", "--template-cache-mb", "65536"}},
		{args: []string{"--template-cache-mb", "1"}},
		{args: []string{"--body-memory-mb", "10"}, want: `invalid argument "10" for "--body-memory-mb" flag: want a whole number from 11 to 65536`},
		{key: "MINISHIP_BODY_MEMORY_MB", val: "lots", want: `MINISHIP_BODY_MEMORY_MB="lots": want a whole number from 11 to 65536`},
		{args: []string{"--body-memory-mb", "11"}},
		{args: []string{"--read-cache=false"}},
		{key: "MINISHIP_READ_CACHE", val: "maybe", want: `MINISHIP_READ_CACHE="maybe"`},
		{key: "MINISHIP_BODY_MEMORY_MB", val: "65536"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " ")+tc.key, func(t *testing.T) {
			if tc.key != "" {
				t.Setenv(tc.key, tc.val)
			}
			var stdout, stderr bytes.Buffer
			exit := Main(append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(file, "data")}, tc.args...), strings.NewReader(""), &stdout, &stderr)
			want := 2
			if tc.want == "" {
				tc.want, want = "not a directory", 1 // accepted, up to the data directory: the server's failure
			}
			if exit != want || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", exit, stderr.String(), want, tc.want)
			}
		})
	}
}

// TestServeNoScan: --scan-duration 0 means no privacy scan: right after a
// commit, on a clock that stands still, the scan is over.
func TestServeNoScan(t *testing.T) {
	run := startServe(t, "--data", t.TempDir(), "--demo", "--clock", "manual", "--scan-duration", "0")
	secret := run.field("platform secret")
	refresh := run.field(`wxdemoshop0000001 \(.*\), AppSecret \S+, refresh token`)
	_, atoken := run.tokens(secret, refresh)
	run.wx("POST", "/wxa/commit?access_token="+atoken, `{"template_id":`+run.field("template_id")+`,"ext_json":"{}","user_version":"1.0","user_desc":"d"}`)
	run.wx("GET", "/wxa/security/get_code_privacy_info?access_token="+atoken, "") // 61039 while it runs
}
