package wxcrypt

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"
)

// Signature returns msg_signature: the lowercase hex SHA-1 of token,
// timestamp, nonce and the base64 Encrypt text, sorted bytewise and joined
// without a separator.
func Signature(token, timestamp, nonce, encrypt string) string {
	return sortedSHA1(token, timestamp, nonce, encrypt)
}

// PlainSignature returns the plain "signature" query parameter: the same
// construction over token, timestamp and nonce only. WeChat sends it along
// with msg_signature, but it does not cover the body, so it must not be used
// to authenticate a POST.
func PlainSignature(token, timestamp, nonce string) string {
	return sortedSHA1(token, timestamp, nonce)
}

func sortedSHA1(parts ...string) string {
	slices.Sort(parts)
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Sign returns Signature with the Crypter's token.
func (c *Crypter) Sign(timestamp, nonce, encrypt string) string {
	return Signature(c.token, timestamp, nonce, encrypt)
}

// CheckSignature verifies msgSignature over the Crypter's token, timestamp,
// nonce and encrypt in constant time, so response timing does not reveal
// how much of a forged signature is right. Hex case is ignored.
func (c *Crypter) CheckSignature(msgSignature, timestamp, nonce, encrypt string) error {
	return checkSigned(msgSignature, c.Sign(timestamp, nonce, encrypt))
}

func checkSigned(got, want string) error {
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) != 1 {
		return errorf(ErrValidateSignature, "msg_signature does not match")
	}
	return nil
}
