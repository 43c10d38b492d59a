package wxcrypt_test

import (
	"encoding/xml"
	"net/url"
	"strings"
	"testing"

	"github.com/miniship/miniship/wxcrypt"
)

// The published vector of wechatpy's tests/test_crypto.py (spec §8.9),
// WeCom-flavoured but the same algorithm.
const (
	vecToken     = "123456"
	vecKey       = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
	vecAppID     = "wx49f0ab532d5d035a"
	vecRandom    = "1234567890123456"
	vecNonce     = "461056294"
	vecTimestamp = "1411525903"

	vecReply = "<xml>\n" +
		"<MsgType><![CDATA[text]]></MsgType>\n" +
		"<Content><![CDATA[test]]></Content>\n" +
		"<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n" +
		"<ToUserName><![CDATA[messense]]></ToUserName>\n" +
		"<AgentID>1</AgentID>\n" +
		"<CreateTime>1411525903</CreateTime>\n" +
		"</xml>"

	vecEncrypt   = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
	vecSignature = "407518b7649e86ef23978113f92d27afa9296533"

	// The full encrypted reply wechatpy expects, byte for byte.
	vecEnvelope = "<xml>\n" +
		"<Encrypt><![CDATA[" + vecEncrypt + "]]></Encrypt>\n" +
		"<MsgSignature><![CDATA[" + vecSignature + "]]></MsgSignature>\n" +
		"<TimeStamp>1411525903</TimeStamp>\n" +
		"<Nonce><![CDATA[461056294]]></Nonce>\n" +
		"</xml>"

	// wechatpy's decrypt vector: a push with the signature in the query.
	vecPushBody = "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n" +
		"<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>\n" +
		"<AgentID><![CDATA[1]]></AgentID>\n" +
		"</xml>"
	vecPushSignature = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"

	// wechatpy's URL-verification vector: signature over an encrypted echostr.
	vecEchoSignature = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
	vecEchoTimestamp = "1411443780"
	vecEchoNonce     = "437374425"
	vecEchoStr       = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
)

func vecCrypter(t testing.TB, opts ...wxcrypt.Option) *wxcrypt.Crypter {
	t.Helper()
	c, err := wxcrypt.New(vecToken, vecKey, vecAppID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVectorLayout(t *testing.T) {
	// 16 random + 4 length + 247 message + 18 appid = 285, padded to 288.
	if n := len(vecReply); n != 247 {
		t.Fatalf("reply is %d bytes, want 247", n)
	}
	if n := len(vecEncrypt); n != 384 { // base64 of 288 bytes
		t.Fatalf("Encrypt is %d chars, want 384", n)
	}
}

func TestVectorEncrypt(t *testing.T) {
	c := vecCrypter(t)
	got, err := c.EncryptWithRandom([]byte(vecRandom), []byte(vecReply))
	if err != nil {
		t.Fatal(err)
	}
	if got != vecEncrypt {
		t.Fatalf("Encrypt mismatch\n got %s\nwant %s", got, vecEncrypt)
	}
	if !strings.HasPrefix(got, "9s4gMv99m88kKTh/H8Idk") {
		t.Fatal("prefix from spec §8.9 missing")
	}
	if sig := wxcrypt.Signature(vecToken, vecTimestamp, vecNonce, got); sig != vecSignature {
		t.Fatalf("Signature = %s, want %s", sig, vecSignature)
	}

	// The same through the injectable random source.
	c2 := vecCrypter(t, wxcrypt.WithRandom(strings.NewReader(vecRandom)))
	if got2, err := c2.Encrypt([]byte(vecReply)); err != nil || got2 != vecEncrypt {
		t.Fatalf("Encrypt with WithRandom = %q, %v", got2, err)
	}
}

func TestVectorSealReply(t *testing.T) {
	c := vecCrypter(t, wxcrypt.WithRandom(strings.NewReader(vecRandom)))
	got, err := c.SealReply([]byte(vecReply), vecTimestamp, vecNonce)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != vecEnvelope {
		t.Fatalf("reply envelope mismatch\n got %s\nwant %s", got, vecEnvelope)
	}
	msg, err := vecCrypter(t).OpenReply([]byte(vecEnvelope))
	if err != nil || string(msg) != vecReply {
		t.Fatalf("OpenReply = %q, %v", msg, err)
	}
}

func TestVectorDecrypt(t *testing.T) {
	c := vecCrypter(t)
	msg, err := c.Decrypt(vecEncrypt)
	if err != nil || string(msg) != vecReply {
		t.Fatalf("Decrypt = %q, %v", msg, err)
	}

	q := url.Values{"msg_signature": {vecPushSignature}, "timestamp": {vecTimestamp}, "nonce": {vecNonce}}
	inner, err := c.OpenPush(q, []byte(vecPushBody))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Content      string
		FromUserName string
	}
	if err := xml.Unmarshal(inner, &m); err != nil {
		t.Fatal(err)
	}
	if m.Content != "test" || m.FromUserName != "messense" {
		t.Fatalf("decrypted push = %+v (%s)", m, inner)
	}
}

func TestVectorEchoStr(t *testing.T) {
	if sig := wxcrypt.Signature(vecToken, vecEchoTimestamp, vecEchoNonce, vecEchoStr); sig != vecEchoSignature {
		t.Fatalf("Signature = %s, want %s", sig, vecEchoSignature)
	}
	c := vecCrypter(t)
	if err := c.CheckSignature(vecEchoSignature, vecEchoTimestamp, "437374424", vecEchoStr); err == nil {
		t.Fatal("wrong nonce accepted") // wechatpy's should_fail case
	}
	echo, err := c.Decrypt(vecEchoStr)
	if err != nil || string(echo) != "5927782489442352469" {
		t.Fatalf("Decrypt(echostr) = %q, %v", echo, err)
	}
}
