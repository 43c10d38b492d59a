package codeimg

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"strings"
	"testing"

	"github.com/miniship/miniship/internal/qrread"
)

func TestRender(t *testing.T) {
	long := "miniship:wxacode?path=" + strings.Repeat("p", 1000)
	longest := longestContent()
	for _, c := range []struct {
		name    string
		content string
		o       Options
		typ     string
		minSide int
	}{
		{"square", "miniship:wxaqrcode?path=a", Options{Width: 280, Line: color.RGBA{A: 255}}, "image/jpeg", 280},
		{"round", "miniship:wxacode?path=a", Options{Width: 430, Round: true, Line: color.RGBA{R: 20, G: 40, B: 160, A: 255}}, "image/jpeg", 430},
		{"hyaline", "miniship:wxacode?scene=x", Options{Width: 300, Round: true, Hyaline: true, Line: color.RGBA{A: 255}}, "image/png", 300},
		{"long path grows", long, Options{Width: 280, Round: true, Line: color.RGBA{A: 255}}, "image/jpeg", 281},
		{"longest round", longest, Options{Width: 430, Round: true, Line: color.RGBA{A: 255}}, "image/jpeg", 430},
		{"longest hyaline", longest, Options{Width: 430, Round: true, Hyaline: true, Line: color.RGBA{R: 10, G: 20, B: 200, A: 255}}, "image/png", 430},
		{"longest square", longest, Options{Width: 280, Line: color.RGBA{A: 255}}, "image/jpeg", 280},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, typ, err := Render(c.content, c.o)
			if err != nil || typ != c.typ {
				t.Fatalf("Render: %q, %v", typ, err)
			}
			img, format, err := image.Decode(bytes.NewReader(data))
			if err != nil || "image/"+format != typ {
				t.Fatalf("decode: %s, %v", format, err)
			}
			b := img.Bounds()
			if b.Dx() != b.Dy() || b.Dx() < c.minSide {
				t.Fatalf("size %v, want square of at least %d", b, c.minSide)
			}
			text, err := qrread.Read(img)
			if err != nil || text != c.content {
				t.Fatalf("QR reads %q, %v", text, err)
			}
			if _, _, _, a := img.At(0, 0).RGBA(); (a == 0) != c.o.Hyaline {
				t.Fatalf("corner alpha %d with hyaline %v", a, c.o.Hyaline)
			}
		})
	}
}

// longestContent is the most a QR code holds: 2953 bytes, a version-40
// code at error correction L.
func longestContent() string {
	const prefix = "miniship:wxacode?path="
	return prefix + strings.Repeat("p", 2953-len(prefix))
}

// TestFits holds Fits to what Render draws: every content that fits
// renders, and one that does not is ErrTooLong, not some other error.
func TestFits(t *testing.T) {
	o := Options{Width: 280, Line: color.RGBA{A: 255}}
	for _, c := range []struct {
		name    string
		content string
		fits    bool
	}{
		{"short", "miniship:wxacode?path=a", true},
		{"longest", longestContent(), true},
		{"one byte more", longestContent() + "p", false},
		{"escaped ampersands", "miniship:wxacode?path=p%3F" + strings.Repeat("%26", 1022), false},
		{"escaped han", "miniship:wxacode?path=" + strings.Repeat("%E4%B8%AD", 1024), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Fits(c.content); got != c.fits {
				t.Fatalf("Fits = %v, want %v", got, c.fits)
			}
			_, _, err := Render(c.content, o)
			if c.fits && err != nil || !c.fits && !errors.Is(err, ErrTooLong) {
				t.Fatalf("Render: %v", err)
			}
		})
	}
}

func TestAvatar(t *testing.T) {
	data, err := Avatar(color.RGBA{R: 200, A: 255}, 132)
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil || format != "png" || img.Bounds().Dx() != 132 {
		t.Fatalf("avatar: %s %v", format, err)
	}
	if r, _, _, _ := img.At(66, 66).RGBA(); r>>8 != 200 {
		t.Fatalf("centre is %v", img.At(66, 66))
	}
}
