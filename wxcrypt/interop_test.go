package wxcrypt_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/silenceper/wechat/v2/util"

	"github.com/miniship/miniship/wxcrypt"
)

// silenceper/wechat is an independent implementation of the same scheme;
// agreement in both directions guards against a self-consistent bug.

func TestInteropSilenceper(t *testing.T) {
	c := vecCrypter(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		msg := make([]byte, r.IntN(2100)) // crosses many 32-byte boundaries, incl. 0
		for j := range msg {
			msg[j] = byte(r.Uint32())
		}
		random := make([]byte, 16)
		for j := range random {
			random[j] = byte(r.Uint32())
		}

		ours, err := c.EncryptWithRandom(random, msg)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := util.EncryptMsg(random, msg, vecAppID, vecKey)
		if err != nil {
			t.Fatal(err)
		}
		if ours != string(theirs) {
			t.Fatalf("#%d len %d: ciphertexts differ", i, len(msg))
		}

		// Ours (fresh random) → theirs.
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := util.DecryptMsg(vecAppID, enc, vecKey)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("#%d: silenceper cannot decrypt ours: %v", i, err)
		}
		// Theirs → ours.
		got, err = c.Decrypt(string(theirs))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("#%d: we cannot decrypt silenceper's: %v", i, err)
		}

		ts, nonce := "1411525903", "461056294"
		if a, b := wxcrypt.Signature(vecToken, ts, nonce, enc), util.Signature(vecToken, ts, nonce, enc); a != b {
			t.Fatalf("Signature %s != silenceper %s", a, b)
		}
		if a, b := wxcrypt.PlainSignature(vecToken, ts, nonce), util.Signature(vecToken, ts, nonce); a != b {
			t.Fatalf("PlainSignature %s != silenceper %s", a, b)
		}
	}
}

func TestInteropSilenceperVector(t *testing.T) {
	got, err := util.EncryptMsg([]byte(vecRandom), []byte(vecReply), vecAppID, vecKey)
	if err != nil || string(got) != vecEncrypt {
		t.Fatalf("silenceper disagrees with the published vector: %v", err)
	}
	if util.Signature(vecToken, vecTimestamp, vecNonce, vecEncrypt) != vecSignature {
		t.Fatal("silenceper signature disagrees with the published vector")
	}
}
