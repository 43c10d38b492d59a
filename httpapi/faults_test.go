package httpapi_test

import (
	"strings"
	"testing"

	"github.com/miniship/miniship/httpapi"
	"github.com/miniship/miniship/mstest"
)

// TestParseFaultRule: the --fault form's errors quote the rule and name
// its keys as the flag spells them; a delay keeps what a millisecond
// cannot hold as one millisecond more, never as none.
func TestParseFaultRule(t *testing.T) {
	tests := []struct {
		in   string
		want httpapi.FaultRule
		err  string
	}{
		{in: "path=/wxa/commit,rate=0.1,errcode=-1,delay=200ms", want: httpapi.FaultRule{Path: "/wxa/commit", Rate: 0.1, Errcode: -1, DelayMS: 200}},
		{in: "rate=1,delay=200us", want: httpapi.FaultRule{Rate: 1, DelayMS: 1}},
		{in: "path=/wxa/commit,rate=0.5,errcode=-1,delay=-200ms", err: `fault "path=/wxa/commit,rate=0.5,errcode=-1,delay=-200ms": delay must be between 0 and 60s`},
		{in: "rate=1,delay=-200us", err: `fault "rate=1,delay=-200us": delay must be between 0 and 60s`},
		{in: "rate=1,delay=61s", err: `fault "rate=1,delay=61s": delay must be between 0 and 60s`},
		{in: "path=nosuchpath,rate=0.5", err: `fault "path=nosuchpath,rate=0.5": a rule needs errcode=N or delay=D`},
		{in: "path=nosuchpath,rate=0.5,errcode=-1", err: `fault "path=nosuchpath,rate=0.5,errcode=-1": path must start with /`},
		{in: "rate=2,errcode=-1", err: `fault "rate=2,errcode=-1": rate must be between 0 and 1`},
		{in: "rate=1,delay_ms=200", err: `fault "rate=1,delay_ms=200": delay_ms=200: unknown key (want path, rate, errcode or delay)`},
		{in: "rate=1,delay=soon", err: `fault "rate=1,delay=soon": delay=soon: time: invalid duration "soon"`},
		{in: "rate", err: `fault "rate": want key=value pairs`},
	}
	for _, tc := range tests {
		got, err := httpapi.ParseFaultRule(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		}
	}
}

// TestAdminFaultsErrors: the admin API names a rule's JSON fields, as its
// callers spell them.
func TestAdminFaultsErrors(t *testing.T) {
	s := mstest.New(t, mstest.Options{})
	for _, tc := range []struct {
		rule map[string]any
		want string
	}{
		{map[string]any{"path": "/wxa/commit", "rate": 0.5, "errcode": -1, "delay_ms": -200}, "invalid input: delay_ms must be between 0 and 60000"},
		{map[string]any{"path": "/wxa/commit", "rate": 0.5}, "invalid input: a rule needs an errcode or a delay_ms"},
	} {
		st, m := admin(t, s, "PUT", "/miniship/v1/faults", map[string]any{"rules": []any{tc.rule}})
		if st != 400 || m["error"] != tc.want {
			t.Errorf("%v: %d %v, want 400 %q", tc.rule, st, m, tc.want)
		}
	}
}
