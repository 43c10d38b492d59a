package wxcrypt_test

import (
	"bytes"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/miniship/miniship/wxcrypt"
)

const platformAppID = "wx3a9d8e7f6c5b4a31"

func platformCrypter(t testing.TB, opts ...wxcrypt.Option) *wxcrypt.Crypter {
	return mustNew(t, "miniship-token", vecKey, platformAppID, opts...)
}

func TestSealPushShapes(t *testing.T) {
	c := platformCrypter(t)
	inner := []byte("<xml><InfoType><![CDATA[component_verify_ticket]]></InfoType></xml>")
	for _, tc := range []struct {
		env  wxcrypt.Envelope
		elem string
	}{
		{wxcrypt.MessageEnvelope("gh_0123456789ab"), "ToUserName"},
		{wxcrypt.PlatformEnvelope(platformAppID), "AppId"},
	} {
		q, body, err := c.SealPush(inner, tc.env, "1700000000", "12345")
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^<xml><` + tc.elem + `><!\[CDATA\[` + regexp.QuoteMeta(tc.env.To) +
			`\]\]></` + tc.elem + `><Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt></xml>$`)
		m := re.FindSubmatch(body)
		if m == nil {
			t.Fatalf("%v body: %s", tc.env.Kind, body)
		}
		enc := string(m[1])
		want := url.Values{
			"timestamp":     {"1700000000"},
			"nonce":         {"12345"},
			"encrypt_type":  {"aes"},
			"msg_signature": {wxcrypt.Signature("miniship-token", "1700000000", "12345", enc)},
			"signature":     {wxcrypt.PlainSignature("miniship-token", "1700000000", "12345")},
		}
		if q.Encode() != want.Encode() {
			t.Fatalf("query %s, want %s", q.Encode(), want.Encode())
		}
		env, gotEnc, err := wxcrypt.ParseEnvelope(body)
		if err != nil || env != tc.env || gotEnc != enc {
			t.Fatalf("ParseEnvelope = %+v %q %v", env, gotEnc, err)
		}
		got, err := c.OpenPush(q, body)
		if err != nil || !bytes.Equal(got, inner) {
			t.Fatalf("OpenPush = %q, %v", got, err)
		}
	}
}

func TestSealPushDefaults(t *testing.T) {
	c := platformCrypter(t)
	q, body, err := c.SealPush([]byte("<xml/>"), wxcrypt.MessageEnvelope("gh_x"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{10,}$`).MatchString(q.Get("timestamp")) || !regexp.MustCompile(`^\d+$`).MatchString(q.Get("nonce")) {
		t.Fatalf("defaults: %v", q)
	}
	if _, err := c.OpenPush(q, body); err != nil {
		t.Fatal(err)
	}
	q2, _, _ := c.SealPush([]byte("<xml/>"), wxcrypt.MessageEnvelope("gh_x"), "", "")
	if q.Get("nonce") == q2.Get("nonce") {
		t.Fatal("nonces repeat")
	}
}

func TestSealPushErrors(t *testing.T) {
	c := platformCrypter(t)
	for _, env := range []wxcrypt.Envelope{{}, {Kind: 7, To: "x"}, wxcrypt.MessageEnvelope(""), wxcrypt.PlatformEnvelope("a\x00b"), wxcrypt.PlatformEnvelope("\xff")} {
		if _, _, err := c.SealPush(nil, env, "1", "2"); !errors.Is(err, wxcrypt.ErrBuildXML) {
			t.Errorf("SealPush(%+v) = %v", env, err)
		}
	}
	if _, err := c.SealReply(nil, "1", "\x01"); !errors.Is(err, wxcrypt.ErrBuildXML) {
		t.Errorf("control char nonce: %v", err)
	}
}

func TestEnvelopeCDATAEscaping(t *testing.T) {
	// "]]>" in a value must survive, and "<" in the timestamp is escaped.
	c := platformCrypter(t)
	q, body, err := c.SealPush([]byte("m"), wxcrypt.MessageEnvelope("a]]>b<c&"), "1", "2")
	if err != nil {
		t.Fatal(err)
	}
	env, _, err := wxcrypt.ParseEnvelope(body)
	if err != nil || env.To != "a]]>b<c&" {
		t.Fatalf("ParseEnvelope = %+v %v (%s)", env, err, body)
	}
	if _, err := c.OpenPush(q, body); err != nil {
		t.Fatal(err)
	}
	reply, err := c.SealReply([]byte("m"), "1<2", "n]]>x")
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := c.OpenReply(reply); err != nil || string(msg) != "m" {
		t.Fatalf("OpenReply = %q %v (%s)", msg, err, reply)
	}
}

func TestOpenPushRejects(t *testing.T) {
	c := platformCrypter(t)
	inner := []byte("<xml><AppId><![CDATA[" + platformAppID + "]]></AppId></xml>")
	q, body, err := c.SealPush(inner, wxcrypt.PlatformEnvelope(platformAppID), "1700000000", "42")
	if err != nil {
		t.Fatal(err)
	}
	with := func(k, v string) url.Values {
		q2 := url.Values{}
		for kk, vv := range q {
			q2[kk] = append([]string(nil), vv...)
		}
		if v == "" {
			q2.Del(k)
		} else {
			q2.Set(k, v)
		}
		return q2
	}
	_, enc, _ := wxcrypt.ParseEnvelope(body)
	otherSigned := func(enc string) (url.Values, []byte) {
		// Correctly signed, so only the decryption checks can reject it.
		b := []byte("<xml><AppId><![CDATA[x]]></AppId><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
		return with("msg_signature", c.Sign("1700000000", "42", enc)), b
	}
	foreignQ, foreignB := func() (url.Values, []byte) {
		other := mustNew(t, "miniship-token", vecKey, "wxforeign")
		e, _ := other.Encrypt(inner)
		return otherSigned(e)
	}()
	garbledQ, garbledB := otherSigned("AAAA" + enc[4:])
	// A flip in the first ciphertext block garbles only the random prefix:
	// without the signature check this would be accepted (CBC has no MAC).
	flipped := []byte(enc)
	flipped[0] ^= 'A' ^ 'B'
	if flipped[0] == enc[0] {
		flipped[0] = 'C'
	}

	cases := []struct {
		name string
		q    url.Values
		body string
		want error
	}{
		{"tampered signature", with("msg_signature", strings.Repeat("0", 40)), string(body), wxcrypt.ErrValidateSignature},
		{"plain signature in its place", with("msg_signature", q.Get("signature")), string(body), wxcrypt.ErrValidateSignature},
		{"missing signature", with("msg_signature", ""), string(body), wxcrypt.ErrValidateSignature},
		{"missing nonce", with("nonce", ""), string(body), wxcrypt.ErrValidateSignature},
		{"missing timestamp", with("timestamp", ""), string(body), wxcrypt.ErrValidateSignature},
		{"other timestamp", with("timestamp", "1700000001"), string(body), wxcrypt.ErrValidateSignature},
		{"other nonce", with("nonce", "43"), string(body), wxcrypt.ErrValidateSignature},
		{"raw encrypt_type", with("encrypt_type", "raw"), string(body), wxcrypt.ErrDecryptAES},
		{"tampered ciphertext", q, strings.Replace(string(body), enc, string(flipped), 1), wxcrypt.ErrValidateSignature},
		{"not XML", q, "hello", wxcrypt.ErrParseXML},
		{"empty body", q, "", wxcrypt.ErrParseXML},
		{"wrong root", q, strings.ReplaceAll(string(body), "xml>", "root>"), wxcrypt.ErrParseXML},
		{"no Encrypt", q, "<xml><AppId>x</AppId></xml>", wxcrypt.ErrParseXML},
		{"foreign appid, valid signature", foreignQ, string(foreignB), wxcrypt.ErrValidateAppID},
		{"garbled ciphertext, valid signature", garbledQ, string(garbledB), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.OpenPush(tc.q, []byte(tc.body))
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("OpenPush = %q, %v; want %v", got, err, tc.want)
			}
		})
	}
	// Absent encrypt_type is tolerated (some proxies strip it); the
	// signature is what counts.
	if _, err := c.OpenPush(with("encrypt_type", ""), body); err != nil {
		t.Fatal(err)
	}
}

func TestOpenPushKeyRotation(t *testing.T) {
	old := mustNew(t, "miniship-token", otherKey, platformAppID)
	q, body, err := old.SealPush([]byte("<xml/>"), wxcrypt.PlatformEnvelope(platformAppID), "1", "2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := platformCrypter(t).OpenPush(q, body); err == nil {
		t.Fatal("old key accepted without WithPreviousKey")
	}
	if got, err := platformCrypter(t, wxcrypt.WithPreviousKey(otherKey)).OpenPush(q, body); err != nil || string(got) != "<xml/>" {
		t.Fatalf("rotation: %q %v", got, err)
	}
}

func TestOpenReplyRejects(t *testing.T) {
	c := platformCrypter(t)
	reply, err := c.SealReply([]byte("<xml>hi</xml>"), "1700000000", "99")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.OpenReply(reply); err != nil || string(got) != "<xml>hi</xml>" {
		t.Fatalf("OpenReply = %q %v", got, err)
	}
	for name, body := range map[string]string{
		"other timestamp": strings.Replace(string(reply), "<TimeStamp>1700000000<", "<TimeStamp>1700000001<", 1),
		"other nonce":     strings.Replace(string(reply), "[99]", "[98]", 1),
		"no signature":    regexp.MustCompile(`<MsgSignature>.*</MsgSignature>`).ReplaceAllString(string(reply), ""),
		"garbage":         "<xml",
	} {
		if _, err := c.OpenReply([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
