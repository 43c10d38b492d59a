package wxcrypt_test

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/miniship/miniship/wxcrypt"
)

// FuzzDecrypt feeds arbitrary text to Decrypt (with a previous key, so both
// key paths run). It must never panic, and anything it accepts must be a
// plaintext that re-encrypts and decrypts to the same message.
func FuzzDecrypt(f *testing.F) {
	f.Add(vecEncrypt)
	f.Add(vecEchoStr)
	f.Add("")
	f.Add("AAAA")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 16)))
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add(vecEncrypt[:len(vecEncrypt)-44] + "==")
	c := mustNew(f, vecToken, vecKey, vecAppID, wxcrypt.WithPreviousKey(otherKey))
	f.Fuzz(func(t *testing.T, in string) {
		msg, err := c.Decrypt(in)
		if err != nil {
			if msg != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(again, msg) {
			t.Fatalf("accepted message does not round-trip: %v", err)
		}
	})
}

// FuzzOpenPush feeds arbitrary bodies and query values to OpenPush. Bodies
// are signed with the real token half the time so the fuzzer gets past the
// signature check into XML parsing and decryption.
func FuzzOpenPush(f *testing.F) {
	c := mustNew(f, vecToken, vecKey, vecAppID)
	_, sealed, err := c.SealPush([]byte("<xml><Event>e</Event></xml>"), wxcrypt.PlatformEnvelope(vecAppID), vecTimestamp, vecNonce)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, vecTimestamp, vecNonce, "", true)
	f.Add([]byte(vecPushBody), vecTimestamp, vecNonce, vecPushSignature, false)
	f.Add([]byte("<xml><Encrypt>"+vecEncrypt+"</Encrypt></xml>"), vecTimestamp, vecNonce, vecSignature, false)
	f.Add([]byte("<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"), "1", "2", "", true)
	f.Add([]byte("<xml><Encrypt/></xml>"), "1", "2", "", true)
	f.Add([]byte("<!DOCTYPE xml [<!ENTITY a 'b'>]><xml><Encrypt>&a;</Encrypt></xml>"), "1", "2", "", true)
	f.Add([]byte(""), "", "", "", false)
	f.Fuzz(func(t *testing.T, body []byte, ts, nonce, sig string, sign bool) {
		if sign {
			if _, enc, err := wxcrypt.ParseEnvelope(body); err == nil {
				sig = c.Sign(ts, nonce, enc)
			}
		}
		q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "msg_signature": {sig}, "encrypt_type": {"aes"}}
		_, _ = c.OpenReply(body) // a different shape; only checking it cannot panic
		inner, err := c.OpenPush(q, body)
		if err != nil {
			if inner != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		// Accepted: the signature must really cover the body's Encrypt.
		_, enc, perr := wxcrypt.ParseEnvelope(body)
		if perr != nil || c.CheckSignature(sig, ts, nonce, enc) != nil {
			t.Fatalf("accepted a push whose signature does not verify")
		}
	})
}
