package wxa

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/miniship/miniship/wxerr"
)

// FuzzDecodeResponse: any answer decodes without panicking; an errcode
// other than 0 is always a *wxerr.Error with that code, and a decoded
// AuditStatus re-reads the same after a round trip.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"errcode":0,"errmsg":"ok","auditid":1,"status":2}`,
		`{"errcode":85009,"errmsg":"already submit a version under auditing rid: 6543-ab"}`,
		`{"errcode":"40001","errmsg":"invalid credential"}`,
		`{"auditid":"77","status":1,"ScreenShot":"a|b","screenshot":"c"}`,
		`{"component_access_token":"x","expires_in":7200}`,
		`{"errcode":1e3}`, `{"errcode":-1.0,"errmsg":" rid: "}`, `null`, `[]`, `"x"`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var st AuditStatus
		err := decodeResponse(body, &st)
		var head struct {
			ErrCode flexInt `json:"errcode"`
		}
		if json.Unmarshal(body, &head) != nil {
			if err == nil {
				t.Fatalf("%q: not JSON, no error", body)
			}
			return
		}
		var we *wxerr.Error
		if head.ErrCode != 0 {
			if !errors.As(err, &we) || int64(we.Code) != int64(int(head.ErrCode)) {
				t.Fatalf("%q: errcode %d, got %v", body, head.ErrCode, err)
			}
			return
		}
		if errors.As(err, &we) {
			t.Fatalf("%q: errcode 0 gave %v", body, err)
		}
		if err != nil {
			return // a body that does not fit AuditStatus
		}
		b, merr := json.Marshal(st)
		if merr != nil {
			t.Fatal(merr)
		}
		var again AuditStatus
		if err := json.Unmarshal(b, &again); err != nil || again != st {
			t.Fatalf("%q: round trip %+v -> %s -> %+v (%v)", body, st, b, again, err)
		}
	})
}

func TestFlexInt(t *testing.T) {
	for in, want := range map[string]int64{`12`: 12, `"12"`: 12, `12.0`: 12, `""`: 0, `null`: 0, `-1`: -1, `"9402202"`: 9402202} {
		var n flexInt
		if err := json.Unmarshal([]byte(in), &n); err != nil || int64(n) != want {
			t.Errorf("%s: %d, %v", in, n, err)
		}
	}
	for _, in := range []string{`1.5`, `"x"`, `true`, `{}`} {
		var n flexInt
		if err := json.Unmarshal([]byte(in), &n); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}
