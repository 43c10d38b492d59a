package wxa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/miniship/miniship/wxerr"
)

// decodeResponse reads a JSON answer: an errcode other than 0 becomes a
// *wxerr.Error (errmsg split from its rid); otherwise the body goes into
// out. The token endpoints answer without errcode on success, so a
// missing errcode is success.
func decodeResponse(body []byte, out any) error {
	var head struct {
		ErrCode flexInt `json:"errcode"`
		ErrMsg  string  `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return fmt.Errorf("wxa: answer is not JSON: %w (%q)", err, snippet(body))
	}
	if head.ErrCode != 0 {
		return wxerr.Parse(int(head.ErrCode), head.ErrMsg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("wxa: decode answer: %w (%q)", err, snippet(body))
	}
	return nil
}

// flexInt reads a JSON number or a numeric string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != float64(int64(f)) {
			return fmt.Errorf("not an integer: %s", b)
		}
		v = int64(f)
	}
	*n = flexInt(v)
	return nil
}
