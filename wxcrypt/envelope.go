package wxcrypt

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EnvelopeKind says which addressee element an outer push envelope carries,
// which follows from the URL the push goes to.
type EnvelopeKind int

const (
	// KindToUser is <ToUserName>: pushes to the message-and-event URL, such
	// as mini program audit results; the value is the mini program's
	// original id (gh_…).
	KindToUser EnvelopeKind = iota + 1
	// KindAppID is <AppId>: system notices to the authorization-event URL
	// (component_verify_ticket, authorization changes); the value is the
	// platform appid.
	KindAppID
)

func (k EnvelopeKind) String() string {
	switch k {
	case KindToUser:
		return "ToUserName"
	case KindAppID:
		return "AppId"
	}
	return "EnvelopeKind(" + strconv.Itoa(int(k)) + ")"
}

// Envelope is the addressee of an outer push envelope.
type Envelope struct {
	Kind EnvelopeKind
	To   string // ToUserName or AppId, per Kind
}

// MessageEnvelope addresses a push to the message-and-event URL.
func MessageEnvelope(toUserName string) Envelope { return Envelope{KindToUser, toUserName} }

// PlatformEnvelope addresses a push to the authorization-event URL.
func PlatformEnvelope(appID string) Envelope { return Envelope{KindAppID, appID} }

// outer is the union of both envelope shapes, for parsing.
type outer struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName string   `xml:"ToUserName"`
	AppID      string   `xml:"AppId"`
	Encrypt    string   `xml:"Encrypt"`
}

// ParseEnvelope reads an outer push envelope without verifying or
// decrypting it, e.g. to route by addressee. Kind is 0 when the envelope
// names neither; AppId wins if, against WeChat's practice, both appear.
func ParseEnvelope(body []byte) (env Envelope, encrypt string, err error) {
	var o outer
	if err := xml.Unmarshal(body, &o); err != nil {
		return Envelope{}, "", errorf(ErrParseXML, "%v", err)
	}
	switch {
	case o.AppID != "":
		env = PlatformEnvelope(o.AppID)
	case o.ToUserName != "":
		env = MessageEnvelope(o.ToUserName)
	}
	if o.Encrypt == "" {
		return env, "", errorf(ErrParseXML, "no <Encrypt> element")
	}
	return env, o.Encrypt, nil
}

// SealPush encrypts msg (the inner XML) as WeChat pushes it to a platform:
// it returns the URL query (timestamp, nonce, encrypt_type=aes,
// msg_signature, signature) and the outer XML body. An empty timestamp means
// now; an empty nonce is drawn from the Crypter's random source.
func (c *Crypter) SealPush(msg []byte, env Envelope, timestamp, nonce string) (url.Values, []byte, error) {
	if env.Kind != KindToUser && env.Kind != KindAppID {
		return nil, nil, errorf(ErrBuildXML, "unknown envelope kind %v", env.Kind)
	}
	if env.To == "" {
		return nil, nil, errorf(ErrBuildXML, "envelope has an empty <%v>", env.Kind)
	}
	timestamp, nonce, err := c.fill(timestamp, nonce)
	if err != nil {
		return nil, nil, err
	}
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, nil, err
	}
	var b xmlBuilder
	b.raw("<xml>")
	b.cdata(env.Kind.String(), env.To)
	b.cdata("Encrypt", enc)
	b.raw("</xml>")
	if b.err != nil {
		return nil, nil, b.err
	}
	q := url.Values{
		"timestamp":     {timestamp},
		"nonce":         {nonce},
		"encrypt_type":  {"aes"},
		"msg_signature": {c.Sign(timestamp, nonce, enc)},
		"signature":     {PlainSignature(c.token, timestamp, nonce)},
	}
	return q, b.buf.Bytes(), nil
}

// OpenPush is the receiving side of SealPush: it verifies msg_signature from
// query against the body's <Encrypt> in constant time, decrypts it and
// returns the inner XML. It does not judge timestamp freshness; replay
// policy is the caller's.
func (c *Crypter) OpenPush(query url.Values, body []byte) ([]byte, error) {
	if t := query.Get("encrypt_type"); t != "" && t != "aes" {
		return nil, errorf(ErrDecryptAES, "encrypt_type is %q, want aes", t)
	}
	sig, ts, nonce := query.Get("msg_signature"), query.Get("timestamp"), query.Get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		return nil, errorf(ErrValidateSignature, "query lacks msg_signature, timestamp or nonce")
	}
	_, enc, err := ParseEnvelope(body)
	if err != nil {
		return nil, err
	}
	if err := c.CheckSignature(sig, ts, nonce, enc); err != nil {
		return nil, err
	}
	return c.Decrypt(enc)
}

// SealReply builds the encrypted passive-reply envelope (spec §8.6),
// signed over its own timestamp and nonce, laid out byte for byte as the
// official sample code and the SDKs write it. Empty timestamp and nonce are
// filled in as in SealPush.
func (c *Crypter) SealReply(msg []byte, timestamp, nonce string) ([]byte, error) {
	timestamp, nonce, err := c.fill(timestamp, nonce)
	if err != nil {
		return nil, err
	}
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, err
	}
	var b xmlBuilder
	b.raw("<xml>\n")
	b.cdata("Encrypt", enc)
	b.raw("\n")
	b.cdata("MsgSignature", c.Sign(timestamp, nonce, enc))
	b.raw("\n")
	b.text("TimeStamp", timestamp)
	b.raw("\n")
	b.cdata("Nonce", nonce)
	b.raw("\n</xml>")
	if b.err != nil {
		return nil, b.err
	}
	return b.buf.Bytes(), nil
}

// OpenReply verifies and decrypts a SealReply envelope, whose signature
// inputs travel inside the body rather than in a query.
func (c *Crypter) OpenReply(body []byte) ([]byte, error) {
	var r struct {
		XMLName      xml.Name `xml:"xml"`
		Encrypt      string   `xml:"Encrypt"`
		MsgSignature string   `xml:"MsgSignature"`
		TimeStamp    string   `xml:"TimeStamp"`
		Nonce        string   `xml:"Nonce"`
	}
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, errorf(ErrParseXML, "%v", err)
	}
	if r.Encrypt == "" || r.MsgSignature == "" {
		return nil, errorf(ErrParseXML, "reply lacks <Encrypt> or <MsgSignature>")
	}
	if err := c.CheckSignature(r.MsgSignature, r.TimeStamp, r.Nonce, r.Encrypt); err != nil {
		return nil, err
	}
	return c.Decrypt(r.Encrypt)
}

// fill supplies a default timestamp (now) and nonce (a decimal uint32, the
// shape WeChat uses).
func (c *Crypter) fill(timestamp, nonce string) (string, string, error) {
	if timestamp == "" {
		timestamp = strconv.FormatInt(time.Now().Unix(), 10)
	}
	if nonce == "" {
		var b [4]byte
		if _, err := io.ReadFull(c.rand, b[:]); err != nil {
			return "", "", errorf(ErrEncryptAES, "reading random nonce: %v", err)
		}
		nonce = strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:])), 10)
	}
	return timestamp, nonce, nil
}

// xmlBuilder writes the fixed envelope layouts by hand so their bytes match
// WeChat's exactly (encoding/xml would not give the reply's newlines).
type xmlBuilder struct {
	buf bytes.Buffer
	err error
}

func (b *xmlBuilder) raw(s string) { b.buf.WriteString(s) }

// cdata writes <name><![CDATA[v]]></name>, splitting any "]]>" in v across
// two sections so the value survives intact.
func (b *xmlBuilder) cdata(name, v string) {
	if !b.valid(name, v) {
		return
	}
	b.buf.WriteString("<" + name + "><![CDATA[")
	b.buf.WriteString(strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>"))
	b.buf.WriteString("]]></" + name + ">")
}

// text writes <name>v</name> with v escaped.
func (b *xmlBuilder) text(name, v string) {
	if !b.valid(name, v) {
		return
	}
	b.buf.WriteString("<" + name + ">")
	_ = xml.EscapeText(&b.buf, []byte(v)) // writes to a bytes.Buffer cannot fail
	b.buf.WriteString("</" + name + ">")
}

// valid rejects values XML cannot carry at all (invalid UTF-8, control
// characters), which would otherwise produce a body no receiver can parse.
func (b *xmlBuilder) valid(name, v string) bool {
	if b.err != nil {
		return false
	}
	for i, r := range v {
		if r == utf8.RuneError && !strings.HasPrefix(v[i:], "\uFFFD") || !isXMLChar(r) {
			b.err = errorf(ErrBuildXML, "<%s> value has a character XML cannot carry at byte %d", name, i)
			return false
		}
	}
	return true
}

// isXMLChar is the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
