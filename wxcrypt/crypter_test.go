package wxcrypt_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"testing/quick"

	"github.com/miniship/miniship/wxcrypt"
)

const otherKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

func TestNewKeyValidation(t *testing.T) {
	bad := []string{
		"",
		vecKey[:42],
		vecKey + "A",
		vecKey[:42] + "+", // base64 but not WeChat's alphabet
		vecKey[:42] + "/",
		vecKey[:42] + "=",
		vecKey[:42] + "é"[:1],
		strings.Repeat(" ", 43),
	}
	for _, k := range bad {
		if _, err := wxcrypt.New("t", k, "wx1"); !errors.Is(err, wxcrypt.ErrIllegalAESKey) {
			t.Errorf("New(%q) error = %v, want ErrIllegalAESKey", k, err)
		}
		if _, err := wxcrypt.New("t", vecKey, "wx1", wxcrypt.WithPreviousKey(k)); !errors.Is(err, wxcrypt.ErrIllegalAESKey) {
			t.Errorf("WithPreviousKey(%q) error = %v", k, err)
		}
	}
	// The last character's two spare bits are ignored, as by WeChat and the
	// SDKs: ...aR and ...aQ are the same key.
	a, b := vecCrypter(t), mustNew(t, vecToken, vecKey[:42]+"Q", vecAppID)
	enc, _ := a.Encrypt([]byte("x"))
	if msg, err := b.Decrypt(enc); err != nil || string(msg) != "x" {
		t.Fatalf("spare-bit variant is a different key: %v", err)
	}
	if _, err := wxcrypt.New("t", vecKey, "wx1", wxcrypt.WithRandom(nil)); err == nil {
		t.Fatal("nil random accepted")
	}
}

func mustNew(t testing.TB, token, key, appID string, opts ...wxcrypt.Option) *wxcrypt.Crypter {
	t.Helper()
	c, err := wxcrypt.New(token, key, appID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTripProperty(t *testing.T) {
	c := vecCrypter(t)
	f := func(msg []byte) bool {
		enc, err := c.Encrypt(msg)
		if err != nil {
			return false
		}
		ct, err := base64.StdEncoding.DecodeString(enc)
		// Always whole 32-byte blocks, with room for at least one pad byte.
		if err != nil || len(ct)%32 != 0 || len(ct) < 16+4+len(msg)+len(vecAppID)+1 {
			return false
		}
		got, err := c.Decrypt(enc)
		return err == nil && bytes.Equal(got, msg)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
}

func TestPaddingBoundaries(t *testing.T) {
	// n = 20 + len(msg) + 18; pad = 32 - n%32 covers 1..32.
	c := vecCrypter(t)
	for l := 0; l <= 96; l++ {
		msg := bytes.Repeat([]byte{'a'}, l)
		enc, err := c.EncryptWithRandom(make([]byte, 16), msg)
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := base64.StdEncoding.DecodeString(enc)
		n := 20 + l + len(vecAppID)
		if want := n + (32 - n%32); len(ct) != want {
			t.Fatalf("len %d: ciphertext %d bytes, want %d", l, len(ct), want)
		}
		if got, err := c.Decrypt(enc); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("len %d: %v", l, err)
		}
	}
}

func TestEncryptWithRandomLength(t *testing.T) {
	c := vecCrypter(t)
	for _, n := range []int{0, 15, 17} {
		if _, err := c.EncryptWithRandom(make([]byte, n), nil); !errors.Is(err, wxcrypt.ErrEncryptAES) {
			t.Errorf("random of %d bytes: %v", n, err)
		}
	}
	short := vecCrypter(t, wxcrypt.WithRandom(strings.NewReader("short")))
	if _, err := short.Encrypt(nil); !errors.Is(err, wxcrypt.ErrEncryptAES) {
		t.Errorf("exhausted random source: %v", err)
	}
}

// sealRaw encrypts an arbitrary plaintext (already a multiple of 16 bytes)
// under vecKey, to build malformed-but-well-encrypted inputs.
func sealRaw(t testing.TB, pt []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(vecKey + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(ct, pt)
	return base64.StdEncoding.EncodeToString(ct)
}

// plaintext lays out random || len || msg || appid || padding with the
// given pad byte value and count.
func plaintext(msgLen uint32, msg, appid string, padVal byte, padN int) []byte {
	b := make([]byte, 16, 64)
	b = binary.BigEndian.AppendUint32(b, msgLen)
	b = append(b, msg...)
	b = append(b, appid...)
	return append(b, bytes.Repeat([]byte{padVal}, padN)...)
}

func TestDecryptErrors(t *testing.T) {
	c := vecCrypter(t)
	good := func(msg string) []byte { // correctly padded for vecAppID
		n := 20 + len(msg) + len(vecAppID)
		p := 32 - n%32
		return plaintext(uint32(len(msg)), msg, vecAppID, byte(p), p)
	}
	if got, err := c.Decrypt(sealRaw(t, good("hello"))); err != nil || string(got) != "hello" {
		t.Fatalf("control case: %q %v", got, err)
	}

	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", wxcrypt.ErrDecryptAES},
		{"garbage base64", "!!!not base64!!!", wxcrypt.ErrDecodeBase64},
		{"bad base64 padding", vecEncrypt[:len(vecEncrypt)-1], wxcrypt.ErrDecodeBase64},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(vecEncrypt), wxcrypt.ErrDecodeBase64},
		{"not block aligned", base64.StdEncoding.EncodeToString(make([]byte, 33)), wxcrypt.ErrDecryptAES},
		{"truncated by a block", base64.StdEncoding.EncodeToString(mustB64(vecEncrypt)[:288-16]), wxcrypt.ErrIllegalBuffer},
		{"truncated to one block", base64.StdEncoding.EncodeToString(mustB64(vecEncrypt)[:16]), wxcrypt.ErrIllegalBuffer},
		{"pad 0", sealRaw(t, plaintext(9, "hellohell", vecAppID, 0, 1)), wxcrypt.ErrIllegalBuffer},
		{"pad 33", sealRaw(t, plaintext(9, "hellohell", vecAppID, 33, 33)), wxcrypt.ErrIllegalBuffer},
		{"pad 255", sealRaw(t, plaintext(9, "hellohell", vecAppID, 255, 1)), wxcrypt.ErrIllegalBuffer},
		{"inconsistent pad bytes", sealRaw(t, append(plaintext(1, "h", vecAppID, 1, 8), 9)), wxcrypt.ErrIllegalBuffer},
		{"pad longer than plaintext", sealRaw(t, bytes.Repeat([]byte{32}, 16)), wxcrypt.ErrIllegalBuffer},
		{"no room for header", sealRaw(t, bytes.Repeat([]byte{16}, 32)), wxcrypt.ErrIllegalBuffer},
		{"length past end", sealRaw(t, plaintext(1000, "h", vecAppID, 9, 9)), wxcrypt.ErrIllegalBuffer},
		{"length 2^32-1", sealRaw(t, plaintext(0xFFFFFFFF, "h", vecAppID, 9, 9)), wxcrypt.ErrIllegalBuffer},
		{"wrong appid", sealRaw(t, plaintext(1, "h", "wx49f0ab532d5d035b", 9, 9)), wxcrypt.ErrValidateAppID},
		{"no appid", sealRaw(t, plaintext(5, "hello", "", 7, 7)), wxcrypt.ErrValidateAppID},
		{"appid with extra byte", sealRaw(t, plaintext(4, "hello", vecAppID, 5, 5)), wxcrypt.ErrValidateAppID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Decrypt(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decrypt = %q, %v; want %v", got, err, tc.want)
			}
			if got != nil {
				t.Fatalf("message returned with error: %q", got)
			}
		})
	}

	// A different key: the padding or appid check rejects the garbage.
	enc, _ := mustNew(t, vecToken, otherKey, vecAppID).Encrypt([]byte("secret"))
	if _, err := c.Decrypt(enc); err == nil {
		t.Fatal("ciphertext under another key accepted")
	}
	// A different appid, same key.
	enc, _ = mustNew(t, vecToken, vecKey, "wxotherappid00000").Encrypt([]byte("secret"))
	if _, err := c.Decrypt(enc); !errors.Is(err, wxcrypt.ErrValidateAppID) {
		t.Fatalf("foreign appid: %v", err)
	}
}

func mustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestBitFlipsNeverPanic(t *testing.T) {
	c := vecCrypter(t)
	ct := mustB64(vecEncrypt)
	accepted := 0
	for i := range len(ct) * 8 {
		b := bytes.Clone(ct)
		b[i/8] ^= 1 << (i % 8)
		if _, err := c.Decrypt(base64.StdEncoding.EncodeToString(b)); err == nil {
			accepted++
		}
	}
	// CBC has no MAC: flips in the first blocks only garble the random
	// prefix and message, so some are accepted. That is why OpenPush checks
	// the signature first. Flips in the last two blocks must all be caught.
	for i := (len(ct) - 32) * 8; i < len(ct)*8; i++ {
		b := bytes.Clone(ct)
		b[i/8] ^= 1 << (i % 8)
		if _, err := c.Decrypt(base64.StdEncoding.EncodeToString(b)); err == nil {
			t.Fatalf("flip of bit %d in the tail accepted", i)
		}
	}
	t.Logf("%d of %d single-bit flips decrypt without a signature check", accepted, len(ct)*8)
}

func TestKeyRotation(t *testing.T) {
	old := mustNew(t, vecToken, otherKey, vecAppID)
	rotated := mustNew(t, vecToken, vecKey, vecAppID, wxcrypt.WithPreviousKey(otherKey))
	if !rotated.HasPreviousKey() || vecCrypter(t).HasPreviousKey() {
		t.Fatal("HasPreviousKey wrong")
	}

	oldEnc, _ := old.Encrypt([]byte("before rotation"))
	newEnc, _ := rotated.Encrypt([]byte("after rotation"))

	msg, prev, err := rotated.DecryptKey(oldEnc)
	if err != nil || !prev || string(msg) != "before rotation" {
		t.Fatalf("old-key message: %q prev=%v %v", msg, prev, err)
	}
	msg, prev, err = rotated.DecryptKey(newEnc)
	if err != nil || prev || string(msg) != "after rotation" {
		t.Fatalf("new-key message: %q prev=%v %v", msg, prev, err)
	}
	// Without the previous key, old messages fail.
	if _, err := vecCrypter(t).Decrypt(oldEnc); err == nil {
		t.Fatal("old-key message accepted without WithPreviousKey")
	}
	// Replying under the key that worked: the old-key peer can read it.
	replyEnc, _ := rotated.UsingPreviousKey().Encrypt([]byte("reply"))
	if msg, err := old.Decrypt(replyEnc); err != nil || string(msg) != "reply" {
		t.Fatalf("reply under previous key: %v", err)
	}
	if c := vecCrypter(t); c.UsingPreviousKey() != c {
		t.Fatal("UsingPreviousKey without a previous key should return c")
	}
	// A message under neither key reports the current key's error class.
	third := mustNew(t, vecToken, strings.Repeat("Z", 43), vecAppID)
	enc, _ := third.Encrypt([]byte("x"))
	if _, err := rotated.Decrypt(enc); err == nil {
		t.Fatal("third key accepted")
	}
	// Appid check still applies under the previous key.
	enc, _ = mustNew(t, vecToken, otherKey, "wxsomeoneelse").Encrypt([]byte("x"))
	if _, err := rotated.Decrypt(enc); err == nil {
		t.Fatal("previous key with foreign appid accepted")
	}
}

func TestSignature(t *testing.T) {
	// Sorting is bytewise and there is no separator.
	if got, want := wxcrypt.PlainSignature("b", "a", "c"), wxcrypt.PlainSignature("c", "b", "a"); got != want {
		t.Fatal("order of arguments matters")
	}
	// sha1("abc")
	if got := wxcrypt.PlainSignature("b", "a", "c"); got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Fatalf("PlainSignature = %s", got)
	}
	c := vecCrypter(t)
	if err := c.CheckSignature(strings.ToUpper(vecSignature), vecTimestamp, vecNonce, vecEncrypt); err != nil {
		t.Fatalf("uppercase hex rejected: %v", err)
	}
	for _, sig := range []string{"", vecSignature[:39], vecSignature + "0", "007518b7649e86ef23978113f92d27afa9296533"} {
		if err := c.CheckSignature(sig, vecTimestamp, vecNonce, vecEncrypt); !errors.Is(err, wxcrypt.ErrValidateSignature) {
			t.Errorf("CheckSignature(%q) = %v", sig, err)
		}
	}
	if c.Sign(vecTimestamp, vecNonce, vecEncrypt) != vecSignature {
		t.Fatal("Sign disagrees with Signature")
	}
}

func TestErrorText(t *testing.T) {
	_, err := vecCrypter(t).Decrypt("!!")
	var e *wxcrypt.Error
	if !errors.As(err, &e) || e.Code != -40010 {
		t.Fatalf("errors.As: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "wxcrypt: base64 decoding failed (-40010): ") {
		t.Fatalf("error text %q", err)
	}
}
