package codeimg

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/miniship/miniship/internal/qrread"
)

// TestEveryCodeDecodes renders codes for many different contents (appids
// and scenes vary from one mini program to the next, and with them the QR
// version and mask) at each size the API produces, and reads each back.
// A code that a standard decoder cannot read is a broken code, whatever
// content happened to make it.
func TestEveryCodeDecodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	n := 100
	if testing.Short() {
		n = 40
	}
	failed := 0
	for i := range n {
		content := fmt.Sprintf("miniship:wxacode?appid=wx%s&env_version=trial&page=pages%%2Findex%%2Findex&scene=%s", word(16), word(rng.IntN(32)))
		for _, o := range []Options{
			{Width: 430, Round: true, Line: color.RGBA{A: 255}},
			{Width: 280, Round: true, Line: color.RGBA{R: 10, G: 20, B: 200, A: 255}},
			{Width: 280, Line: color.RGBA{A: 255}},
			{Width: 300, Round: true, Hyaline: true, Line: color.RGBA{A: 255}},
		} {
			data, _, err := Render(content, o)
			if err != nil {
				t.Fatal(err)
			}
			img, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			text, err := qrread.Read(img)
			if err != nil || text != content {
				failed++
				if failed <= 5 {
					t.Errorf("content %d %q with %+v: %v", i, content, o, err)
				}
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d codes did not decode", failed, n*4)
	}
}
