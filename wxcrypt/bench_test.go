package wxcrypt_test

import (
	"bytes"
	"testing"

	"github.com/miniship/miniship/wxcrypt"
)

var platformEnvelopeForBench = wxcrypt.PlatformEnvelope(vecAppID)

var benchMsg = bytes.Repeat([]byte("<xml>0123456789abcdef</xml>\n"), 1024/28+1)[:1024]

func BenchmarkEncrypt1KB(b *testing.B) {
	c := vecCrypter(b)
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encrypt(benchMsg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt1KB(b *testing.B) {
	c := vecCrypter(b)
	enc, err := c.Encrypt(benchMsg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenPush1KB(b *testing.B) {
	c := vecCrypter(b)
	q, body, err := c.SealPush(benchMsg, platformEnvelopeForBench, "1700000000", "42")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.OpenPush(q, body); err != nil {
			b.Fatal(err)
		}
	}
}
