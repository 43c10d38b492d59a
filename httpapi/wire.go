// Package httpapi serves the WeChat-compatible API (the same paths, fields
// and errcodes as api.weixin.qq.com) and the miniship admin API. Handlers
// are thin: they decode, call the service, encode.
package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/miniship/miniship/wxerr"
)

// Int64 is a number that clients send either as a JSON number or as a
// numeric string ("template_id":"95"); WeChat accepts both.
type Int64 int64

// UnmarshalJSON accepts 12, "12" and null.
func (n *Int64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*n = 0
			return nil
		}
		b = []byte(s)
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// Accept 12.0, which some JSON encoders produce for numbers.
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("not an integer: %s", b)
		}
		v = int64(f)
	}
	*n = Int64(v)
	return nil
}

// newRID makes a request id shaped like WeChat's ("672b19e9-4827b1e5-4b1a2ce7"):
// the time, then randomness, so ids sort roughly by time in logs.
func newRID() string {
	return fmt.Sprintf("%08x-%08x-%08x", uint32(time.Now().Unix()), rand.Uint32(), rand.Uint32())
}

var okPrefix = []byte(`{"errcode":0,"errmsg":"ok"`)

// writeOK answers success: errcode 0 first, then the payload's fields, as
// WeChat orders them. bare answers only the payload (the token endpoints
// carry no errcode on success).
func writeOK(w http.ResponseWriter, v any, bare bool) {
	var buf bytes.Buffer
	if v != nil {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			writeErr(w, "", wxerr.New(wxerr.SystemError, ""))
			return
		}
	}
	body := bytes.TrimSpace(buf.Bytes())
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	switch {
	case bare:
		w.Write(body)
	case len(body) > 2 && body[0] == '{':
		w.Write(okPrefix)
		w.Write([]byte{','})
		w.Write(body[1:])
	default:
		w.Write(okPrefix)
		w.Write([]byte{'}'})
	}
}

type errBody struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

// writeErr answers a WeChat error: HTTP 200, errcode, errmsg ending in rid.
func writeErr(w http.ResponseWriter, rid string, e *wxerr.Error) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(errBody{Code: int(e.Code), Msg: e.WireMsg(rid)})
}
