package template

// ScanJS returns the location APIs (LocationAPIs order, no duplicates) that
// JavaScript source references on the global wx object.
//
// What counts, and why:
//   - wx.NAME and wx?.NAME, with any whitespace or comments around the dot:
//     a reference is enough, not only a call, because `const f = wx.getLocation`
//     uses the API just the same.
//   - wx["NAME"], wx['NAME'] and wx[`NAME`] when the brackets hold exactly one
//     literal without escapes or substitutions: it names the API as surely as
//     the dot form. Computed names (wx[name], wx["get"+"Location"]) cannot be
//     resolved without running the code and are not counted.
//   - wx must be a standalone identifier: obj.wx.getLocation is a property of
//     something else.
//   - Comments, string literals, template-literal text and regular-expression
//     literals are skipped; code inside ${...} substitutions is scanned.
//
// The tokenizer is deliberately small: it never fails, runs in linear time
// and treats unterminated constructs as running to the end of the input.
func ScanJS(src []byte) []string {
	var found [len(locationAPIs)]bool
	s := jsScanner{src: src}
	var w [5]jsToken // the last five tokens, newest last
	for {
		tok := s.next()
		if tok.kind == tEOF {
			break
		}
		copy(w[:], w[1:])
		w[4] = tok
		var name []byte
		switch {
		case tok.kind == tIdent && isDot(w[3]) && isWx(w[2]) && !isDot(w[1]):
			name = tok.b
		case tok.is("]") && w[3].kind == tString && w[2].is("[") && isWx(w[1]) && !isDot(w[0]):
			name = w[3].b
		}
		if i := locationIndexBytes(name); i >= 0 {
			found[i] = true
		}
	}
	var out []string
	for i, ok := range found {
		if ok {
			out = append(out, locationAPIs[i])
		}
	}
	return out
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tPunct
	tString // string literal, or template literal without substitutions
	tOther  // number, regex, template chunk
)

// jsToken slices the source (no allocation per token): the identifier, the
// punctuator or the contents of a string literal without escapes.
type jsToken struct {
	kind tokKind
	b    []byte
}

func (t jsToken) is(p string) bool { return t.kind == tPunct && string(t.b) == p }
func isDot(t jsToken) bool         { return t.is(".") || t.is("?.") }
func isWx(t jsToken) bool          { return t.kind == tIdent && string(t.b) == "wx" }

func locationIndexBytes(b []byte) int {
	for i, api := range locationAPIs {
		if string(b) == api {
			return i
		}
	}
	return -1
}

type jsScanner struct {
	src    []byte
	i      int
	braces int   // depth of { } in code
	tmpl   []int // brace depth at each open ${ of a template literal
	prev   jsToken
}

// regexAllowed decides whether a / starts a regular expression: it does
// unless the previous token ends an expression. A } is taken as the end of an
// object literal (division follows), the rarer choice being a block.
func (s *jsScanner) regexAllowed() bool {
	switch p := s.prev; p.kind {
	case tEOF:
		return true
	case tIdent:
		switch string(p.b) {
		case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
			"throw", "case", "do", "else", "yield", "await":
			return true
		}
		return false
	case tPunct:
		return !p.is(")") && !p.is("]") && !p.is("}")
	}
	return false
}

func (s *jsScanner) next() jsToken {
	t := s.scan()
	if t.kind != tEOF {
		s.prev = t
	}
	return t
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func (s *jsScanner) scan() jsToken {
	src := s.src
	for s.i < len(src) {
		c := src[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.i++
		case c == '/' && s.i+1 < len(src) && src[s.i+1] == '/':
			for s.i < len(src) && src[s.i] != '\n' {
				s.i++
			}
		case c == '/' && s.i+1 < len(src) && src[s.i+1] == '*':
			s.i += 2
			for s.i < len(src) && !(src[s.i] == '*' && s.i+1 < len(src) && src[s.i+1] == '/') {
				s.i++
			}
			s.i = min(s.i+2, len(src))
		case c == '"' || c == '\'':
			return s.quoted(c)
		case c == '`':
			s.i++
			return s.template()
		case c == '/' && s.regexAllowed():
			s.regex()
			return jsToken{kind: tOther}
		case c >= '0' && c <= '9':
			for s.i < len(src) && (isIdentByte(src[s.i]) || src[s.i] == '.') {
				s.i++
			}
			return jsToken{kind: tOther}
		case isIdentByte(c):
			start := s.i
			for s.i < len(src) && isIdentByte(src[s.i]) {
				s.i++
			}
			return jsToken{kind: tIdent, b: src[start:s.i]}
		case c == '?' && s.i+1 < len(src) && src[s.i+1] == '.' && !(s.i+2 < len(src) && src[s.i+2] >= '0' && src[s.i+2] <= '9'):
			s.i += 2
			return jsToken{kind: tPunct, b: src[s.i-2 : s.i]}
		case c == '{':
			s.i++
			s.braces++
			return jsToken{kind: tPunct, b: src[s.i-1 : s.i]}
		case c == '}':
			s.i++
			if n := len(s.tmpl); n > 0 && s.tmpl[n-1] == s.braces {
				s.tmpl = s.tmpl[:n-1]
				return s.template() // back inside the template literal
			}
			s.braces--
			return jsToken{kind: tPunct, b: src[s.i-1 : s.i]}
		default:
			s.i++
			return jsToken{kind: tPunct, b: src[s.i-1 : s.i]}
		}
	}
	return jsToken{}
}

// quoted scans a '…' or "…" literal; a raw newline ends an unterminated one.
func (s *jsScanner) quoted(q byte) jsToken {
	s.i++
	start, escaped := s.i, false
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			escaped = true
			s.i += 2
			continue
		case q:
			s.i++
			if escaped {
				return jsToken{kind: tOther}
			}
			return jsToken{kind: tString, b: s.src[start : s.i-1]}
		case '\n':
			return jsToken{kind: tOther}
		}
		s.i++
	}
	s.i = len(s.src)
	return jsToken{kind: tOther}
}

// template scans template-literal text up to the closing backquote or the
// next ${, whose code is then scanned as ordinary tokens.
func (s *jsScanner) template() jsToken {
	start, whole := s.i, s.i > 0 && s.src[s.i-1] == '`'
	escaped := false
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			escaped = true
			s.i += 2
			continue
		case '`':
			s.i++
			if whole && !escaped {
				return jsToken{kind: tString, b: s.src[start : s.i-1]}
			}
			return jsToken{kind: tOther}
		case '$':
			if s.i+1 < len(s.src) && s.src[s.i+1] == '{' {
				s.i += 2
				s.tmpl = append(s.tmpl, s.braces)
				return jsToken{kind: tPunct, b: s.src[s.i-2 : s.i]}
			}
		}
		s.i++
	}
	s.i = len(s.src)
	return jsToken{kind: tOther}
}

// regex skips a regular-expression literal and its flags; / inside a
// [class] does not end it.
func (s *jsScanner) regex() {
	s.i++
	class := false
	for s.i < len(s.src) {
		c := s.src[s.i]
		s.i++
		switch {
		case c == '\\':
			s.i++
		case c == '\n':
			return
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '/' && !class:
			for s.i < len(s.src) && isIdentByte(s.src[s.i]) {
				s.i++
			}
			return
		}
	}
	s.i = min(s.i, len(s.src))
}
