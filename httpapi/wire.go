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
	"sync"
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
// the time, then randomness, so ids sort roughly by time in logs. Every
// request makes one, so it is formatted by hand rather than by fmt.
func newRID() string {
	var b [26]byte
	r := rand.Uint64()
	putHex32(b[0:8], uint32(time.Now().Unix()))
	b[8] = '-'
	putHex32(b[9:17], uint32(r>>32))
	b[17] = '-'
	putHex32(b[18:26], uint32(r))
	return string(b[:])
}

// putHex32 writes v as 8 lower-case hex digits, zero-padded.
func putHex32(dst []byte, v uint32) {
	const digits = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		dst[i] = digits[v&0xf]
		v >>= 4
	}
}

var okPrefix = []byte(`{"errcode":0,"errmsg":"ok"`)

// answer is a success body being built. Every answer needs one, so they
// are pooled; one grown past maxPooledAnswer (a long list) is dropped
// rather than kept for the next small answer.
type answer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

const maxPooledAnswer = 64 << 10

var answers = sync.Pool{New: func() any {
	a := new(answer)
	a.enc = json.NewEncoder(&a.buf)
	a.enc.SetEscapeHTML(false)
	return a
}}

// writeOK answers success: errcode 0 first, then the payload's fields, as
// WeChat orders them. bare answers only the payload (the token endpoints
// carry no errcode on success). The body is built in place (the payload
// encoded right after the prefix, its "{" turned into ",") and written
// at once.
func writeOK(w http.ResponseWriter, v any, bare bool) {
	a := answers.Get().(*answer)
	defer func() {
		if a.buf.Cap() <= maxPooledAnswer {
			a.buf.Reset()
			answers.Put(a)
		}
	}()
	if !bare {
		a.buf.Write(okPrefix)
	}
	start := a.buf.Len()
	if v != nil {
		// Encode writes nothing when it fails.
		if err := a.enc.Encode(v); err != nil {
			writeErr(w, "", wxerr.New(wxerr.SystemError, ""))
			return
		}
	}
	b := a.buf.Bytes()
	payload := bytes.TrimSpace(b[start:])
	switch {
	case bare:
		b = payload
	case len(payload) > 2 && payload[0] == '{':
		b[start] = ','
		b = b[:start+len(payload)]
	default:
		b = append(b[:start], '}')
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(b)
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
