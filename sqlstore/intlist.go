package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// intList is a []int stored as JSON text, as jsonText stores it (nil is
// NULL, empty is []). It exists for the grant's permission sets, which
// every authenticated request reads: decoding "[1,2,3]" by hand costs a
// tenth of encoding/json's reflection, which was a third of a grant check.
// Anything but plain decimal integers falls back to encoding/json, so the
// result is always json.Unmarshal's (FuzzIntList).
type intList struct{ p *[]int }

func (l intList) Value() (driver.Value, error) { return jsonText{*l.p}.Value() }

func (l intList) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlstore: JSON column holds %T", src)
	}
	if out, ok := parseInts(s); ok {
		*l.p = out
		return nil
	}
	return json.Unmarshal([]byte(s), l.p)
}

// parseInts parses the compact form json.Marshal writes for a []int; ok is
// false for anything else.
func parseInts(s string) (out []int, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	out = make([]int, 0, strings.Count(s, ",")+1)
	for start := 0; s != ""; {
		end := start
		for end < len(s) && s[end] != ',' {
			end++
		}
		f := s[start:end]
		// Only what json.Marshal writes: -?[1-9][0-9]* or 0.
		d := f
		if d != "" && d[0] == '-' {
			d = d[1:]
		}
		if d == "" || (d[0] == '0' && len(d) > 1) {
			return nil, false
		}
		for i := 0; i < len(d); i++ {
			if d[i] < '0' || d[i] > '9' {
				return nil, false
			}
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
		if end == len(s) {
			break
		}
		if start = end + 1; start == len(s) { // a trailing comma
			return nil, false
		}
	}
	return out, true
}
