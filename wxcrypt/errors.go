package wxcrypt

import "fmt"

// Error is a failure class of the scheme. Code is the number the official
// WXBizMsgCrypt sample code uses for it, so logs line up with WeChat's docs.
// Returned errors wrap one of the Err* values below with detail; test with
// errors.Is.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("wxcrypt: %s (%d)", e.Msg, e.Code) }

// The error classes, numbered as in the official sample code.
var (
	ErrValidateSignature = &Error{-40001, "signature mismatch"}
	ErrParseXML          = &Error{-40002, "cannot parse XML"}
	ErrIllegalAESKey     = &Error{-40004, "illegal EncodingAESKey"}
	ErrValidateAppID     = &Error{-40005, "appid mismatch"}
	ErrEncryptAES        = &Error{-40006, "encryption failed"}
	ErrDecryptAES        = &Error{-40007, "decryption failed"}
	ErrIllegalBuffer     = &Error{-40008, "illegal plaintext buffer"}
	ErrDecodeBase64      = &Error{-40010, "base64 decoding failed"}
	ErrBuildXML          = &Error{-40011, "cannot build XML"}
)

func errorf(class *Error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{class}, args...)...)
}
