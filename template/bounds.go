package template

import "fmt"

// Bounds of every JSON config of a template (app.json and the pages'
// .json files), checked before decoding. The experience package re-encodes
// them indented, which grows with the square of the depth: a 9,000-deep
// array in a 45 KB app.json became a 162 MB package. Real configs are a few
// KB and a handful of levels deep; ext_json has the same depth limit.
const (
	MaxConfigBytes = 512 << 10
	MaxConfigDepth = 64
)

// checkConfigBounds refuses a config over MaxConfigBytes or nesting
// deeper than MaxConfigDepth.
func checkConfigBounds(b []byte) error {
	if len(b) > MaxConfigBytes {
		return fmt.Errorf("%d bytes, more than the %d a config may have", len(b), MaxConfigBytes)
	}
	if at := TooDeep(b, MaxConfigDepth); at >= 0 {
		return fmt.Errorf("nests deeper than %d levels at byte %d", MaxConfigDepth, at)
	}
	return nil
}

// TooDeep returns the offset where JSON nesting first exceeds max, or -1.
// It only tracks strings and brackets; syntax is the decoder's business.
// A depth check before decoding keeps hostile input from costing memory
// and time out of proportion to its size.
func TooDeep[T string | []byte](b T, max int) int {
	depth, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			if depth++; depth > max {
				return i
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return -1
}
