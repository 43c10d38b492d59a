package wxcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math"
)

const (
	// blockSize is the PKCS#7 block of the scheme: 32 bytes, the AES key
	// length, not the AES block size.
	blockSize = 32
	// randomLen and lengthLen are the fixed plaintext header.
	randomLen = 16
	lengthLen = 4
	headerLen = randomLen + lengthLen
)

// Crypter encrypts and decrypts for one platform: a token, an appid and one
// or two EncodingAESKeys. It is safe for concurrent use if its random source
// is (the default, crypto/rand, is).
type Crypter struct {
	token string
	appID string
	cur   *aesKey
	prev  *aesKey // nil unless WithPreviousKey was given
	rand  io.Reader
}

type aesKey struct {
	block cipher.Block
	iv    []byte
}

// Option configures a Crypter in New.
type Option func(*Crypter) error

// WithPreviousKey also accepts pushes encrypted with the EncodingAESKey that
// was current before a rotation: decryption falls back to it (spec §8.8).
func WithPreviousKey(encodingAESKey string) Option {
	return func(c *Crypter) error {
		k, err := parseKey(encodingAESKey)
		if err != nil {
			return err
		}
		c.prev = k
		return nil
	}
}

// WithRandom replaces crypto/rand as the source of the 16 random plaintext
// bytes and of generated nonces. Only tests and fixed vectors want this.
func WithRandom(r io.Reader) Option {
	return func(c *Crypter) error {
		if r == nil {
			return errorf(ErrEncryptAES, "nil random source")
		}
		c.rand = r
		return nil
	}
}

// New returns a Crypter. encodingAESKey must be exactly 43 characters of
// [A-Za-z0-9]; appID is the platform (component) appid that is appended to
// every plaintext and required on every decrypted one.
func New(token, encodingAESKey, appID string, opts ...Option) (*Crypter, error) {
	k, err := parseKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	c := &Crypter{token: token, appID: appID, cur: k, rand: rand.Reader}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parseKey decodes an EncodingAESKey. The alphabet check is explicit because
// base64 would also accept '+' and '/', which WeChat never issues; a key with
// them is a configuration mistake worth reporting early.
func parseKey(s string) (*aesKey, error) {
	if len(s) != 43 {
		return nil, errorf(ErrIllegalAESKey, "EncodingAESKey has %d characters, want 43", len(s))
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9') {
			return nil, errorf(ErrIllegalAESKey, "EncodingAESKey has a character outside [A-Za-z0-9] at %d", i)
		}
	}
	// Not Strict: the 43rd character carries 2 unused bits, which WeChat and
	// every SDK ignore.
	key, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(key) != 32 {
		return nil, errorf(ErrIllegalAESKey, "EncodingAESKey does not decode to 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errorf(ErrIllegalAESKey, "%v", err)
	}
	return &aesKey{block: block, iv: key[:aes.BlockSize]}, nil
}

// AppID returns the appid the Crypter appends and requires.
func (c *Crypter) AppID() string { return c.appID }

// HasPreviousKey reports whether a previous key is held for decryption.
func (c *Crypter) HasPreviousKey() bool { return c.prev != nil }

// UsingPreviousKey returns a copy of c that encrypts with the previous key
// (and decrypts with the previous key first, then the current one). It is
// for answering a message under the key it arrived with (spec §8.8); it
// returns c itself when there is no previous key.
func (c *Crypter) UsingPreviousKey() *Crypter {
	if c.prev == nil {
		return c
	}
	d := *c
	d.cur, d.prev = c.prev, c.cur
	return &d
}

// Encrypt encrypts msg and returns the base64 text for an <Encrypt> element.
func (c *Crypter) Encrypt(msg []byte) (string, error) {
	var random [randomLen]byte
	if _, err := io.ReadFull(c.rand, random[:]); err != nil {
		return "", errorf(ErrEncryptAES, "reading random bytes: %v", err)
	}
	return c.EncryptWithRandom(random[:], msg)
}

// EncryptWithRandom is Encrypt with the 16 leading plaintext bytes given,
// which makes the output deterministic (for published test vectors).
func (c *Crypter) EncryptWithRandom(random, msg []byte) (string, error) {
	if len(random) != randomLen {
		return "", errorf(ErrEncryptAES, "random part has %d bytes, want %d", len(random), randomLen)
	}
	if uint64(len(msg)) > math.MaxUint32-uint64(headerLen+len(c.appID)+blockSize) {
		return "", errorf(ErrEncryptAES, "message too long: %d bytes", len(msg))
	}
	n := headerLen + len(msg) + len(c.appID)
	pad := blockSize - n%blockSize // 1..32: a full block when n is aligned
	buf := make([]byte, n+pad)
	copy(buf, random)
	binary.BigEndian.PutUint32(buf[randomLen:], uint32(len(msg)))
	copy(buf[headerLen:], msg)
	copy(buf[headerLen+len(msg):], c.appID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.cur.block, c.cur.iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Decrypt decodes and decrypts the text of an <Encrypt> element and returns
// the message. It checks the padding, the embedded length and that the
// trailing appid is the Crypter's. With a previous key it tries the current
// key first; if both fail, the current key's error is returned.
//
// Decrypt does not check a signature: callers holding a query should use
// OpenPush or CheckSignature first, which also keeps padding errors from
// being an oracle.
func (c *Crypter) Decrypt(b64 string) ([]byte, error) {
	msg, _, err := c.decrypt(b64)
	return msg, err
}

// DecryptKey is Decrypt that also reports whether the previous key was the
// one that worked, so the caller can reply under the same key.
func (c *Crypter) DecryptKey(b64 string) (msg []byte, usedPrevious bool, err error) {
	return c.decrypt(b64)
}

func (c *Crypter) decrypt(b64 string) ([]byte, bool, error) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, false, errorf(ErrDecodeBase64, "%v", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, false, errorf(ErrDecryptAES, "ciphertext length %d is not a positive multiple of %d", len(ct), aes.BlockSize)
	}
	msg, err := c.open(c.cur, ct)
	if err == nil || c.prev == nil {
		return msg, false, err
	}
	if msg, perr := c.open(c.prev, ct); perr == nil {
		return msg, true, nil
	}
	return nil, false, err
}

// open decrypts ct (a non-empty multiple of the AES block) with k and
// validates the plaintext layout. Every index is bounds-checked against the
// decrypted length, which an attacker controls through the ciphertext.
func (c *Crypter) open(k *aesKey, ct []byte) ([]byte, error) {
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(k.block, k.iv).CryptBlocks(pt, ct)

	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) {
		return nil, errorf(ErrIllegalBuffer, "bad padding value %d", pad)
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, errorf(ErrIllegalBuffer, "inconsistent padding bytes")
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < headerLen {
		return nil, errorf(ErrIllegalBuffer, "plaintext too short: %d bytes", len(pt))
	}
	n := binary.BigEndian.Uint32(pt[randomLen:headerLen])
	if uint64(n) > uint64(len(pt)-headerLen) {
		return nil, errorf(ErrIllegalBuffer, "message length %d exceeds plaintext", n)
	}
	end := headerLen + int(n)
	if !bytes.Equal(pt[end:], []byte(c.appID)) {
		return nil, errorf(ErrValidateAppID, "plaintext carries appid %q, want %q", truncate(pt[end:], 64), c.appID)
	}
	return pt[headerLen:end:end], nil
}

// truncate keeps error messages bounded when the tail is garbage.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
