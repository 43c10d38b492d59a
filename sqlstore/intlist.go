package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
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
// false for anything else, and for a number past int's range.
func parseInts(s string) (out []int, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	out = make([]int, 0, strings.Count(s, ",")+1)
	for i := 0; i < len(s); {
		// Only what json.Marshal writes: -?(0|[1-9][0-9]*), then , or the end.
		neg := s[i] == '-'
		if neg {
			i++
		}
		start := i
		var n uint64
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if n > (uint64(math.MaxInt)+1)/10 {
				return nil, false
			}
			n = n*10 + uint64(s[i]-'0')
		}
		switch {
		case i == start, s[start] == '0' && i-start > 1:
			return nil, false
		case n > uint64(math.MaxInt) && !(neg && n == uint64(math.MaxInt)+1):
			return nil, false
		}
		v := int(n) // wraps to MinInt for the one negative past MaxInt
		if neg {
			v = -v
		}
		out = append(out, v)
		if i == len(s) {
			break
		}
		if s[i] != ',' || i+1 == len(s) { // not a separator, or a trailing comma
			return nil, false
		}
		i++
	}
	return out, true
}
