// Package wxerr is the single error type for WeChat errcodes, shared by the
// server (which answers with them), the ext_json engine (which produces them)
// and the SDK (which parses them off the wire).
package wxerr

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Code is a WeChat errcode. A Code is itself an error so callers can write
// errors.Is(err, wxerr.TemplateNotExist).
type Code int

// Error is a WeChat error: the errcode, the errmsg as sent on the wire
// (without the " rid: ..." suffix) and, when known, the request id.
type Error struct {
	Code Code
	Msg  string
	RID  string
}

// New returns an *Error for code whose message is the official text,
// followed by ": detail" when detail is not empty.
func New(code Code, detail string) *Error {
	msg := code.Text()
	if detail != "" {
		msg += ": " + detail
	}
	return &Error{Code: code, Msg: msg}
}

// Errorf is New with a formatted detail.
func Errorf(code Code, format string, args ...any) *Error {
	return New(code, fmt.Sprintf(format, args...))
}

func (e *Error) Error() string {
	s := fmt.Sprintf("errcode %d: %s", int(e.Code), e.Msg)
	if e.RID != "" {
		s += " rid: " + e.RID
	}
	return s
}

// Is matches another *Error or a Code with the same errcode.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Code:
		return e.Code == t
	case *Error:
		return e.Code == t.Code
	}
	return false
}

// MaxWireMsg bounds the message part of a wire errmsg, in bytes.
// Messages quote what the caller sent ("%q is not a WeChat ID"), and an
// answer must not echo a 100 KB value back.
const MaxWireMsg = 1024

// WireMsg is the errmsg as WeChat sends it: the message, cut to MaxWireMsg
// bytes (at a character boundary, marked by "…"), and " rid: <rid>".
func (e *Error) WireMsg(rid string) string {
	msg := e.Msg
	if len(msg) > MaxWireMsg {
		cut := MaxWireMsg
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	if rid == "" {
		return msg
	}
	return msg + " rid: " + rid
}

// Parse splits a wire errmsg into message and rid.
func Parse(code int, errmsg string) *Error {
	e := &Error{Code: Code(code), Msg: errmsg}
	if i := strings.LastIndex(errmsg, " rid: "); i >= 0 {
		e.Msg, e.RID = errmsg[:i], errmsg[i+len(" rid: "):]
	}
	return e
}

func (c Code) Error() string { return fmt.Sprintf("errcode %d: %s", int(c), c.Text()) }

// Text is the official English errmsg of the code (from the WeChat global
// return-code page, 全局返回码); the Chinese one where no English
// text exists.
func (c Code) Text() string {
	if t, ok := texts[c]; ok {
		return t
	}
	return "unknown error"
}

// From extracts the *Error of err. Errors that carry no errcode become
// SystemError (-1), which is what WeChat answers for internal failures.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var c Code
	if errors.As(err, &c) {
		return New(c, "")
	}
	return New(SystemError, "")
}

// CodeOf returns the errcode carried by err, 0 for nil.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	return From(err).Code
}
