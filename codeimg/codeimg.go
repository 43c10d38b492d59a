// Package codeimg draws mini program codes: a QR code, square
// (createwxaqrcode, get_qrcode) or inside a round badge (the "wxacode" of
// getwxacode and getwxacodeunlimit). WeChat's round codes use a private
// pattern no public decoder reads; miniship's carry a standard QR code, so
// tests and tools can read what a code points at.
package codeimg

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"sync"

	"github.com/skip2/go-qrcode"
)

// Options shape an image.
type Options struct {
	// Width is the side in pixels; it grows when the QR code needs more to
	// keep each module 3 px wide (long paths), so the code stays readable.
	Width int
	// Round draws the badge: a disc with a ring in the line colour, the QR
	// code in the inscribed square.
	Round bool
	// Line is the colour of the dark modules and the ring.
	Line color.RGBA
	// Hyaline leaves the outside of the badge transparent (PNG). The disc
	// stays white so the QR code keeps its contrast.
	Hyaline bool
}

const minModulePx = 3

// levels are the error-correction levels Render tries, in order. Level Q
// (go-qrcode's "High", 25%) first: a code printed small or scanned at an
// angle still reads, and so does every code a standard decoder is given.
// A content too long for Q gets the strongest level that holds it, down to
// L (7%), which holds the most: 2953 bytes in a version-40 code.
var levels = []qrcode.RecoveryLevel{qrcode.High, qrcode.Medium, qrcode.Low}

// ErrTooLong is Render's error for a content no QR code holds.
var ErrTooLong = errors.New("codeimg: content too long for a QR code")

// Fits reports whether a QR code holds content, at the lowest error
// correction: Render draws every content that fits. It only encodes the
// data, which costs little next to drawing, so callers check it before
// they spend anything on a code.
func Fits(content string) bool {
	_, err := qrcode.New(content, levels[len(levels)-1])
	return err == nil
}

// encode is the QR code of content at the first level that holds it.
func encode(content string) (*qrcode.QRCode, error) {
	for _, l := range levels {
		if q, err := qrcode.New(content, l); err == nil {
			return q, nil
		}
	}
	return nil, ErrTooLong
}

// Render returns the image and its media type: image/jpeg, or image/png
// for a hyaline badge. A content that does not Fit is ErrTooLong.
func Render(content string, o Options) ([]byte, string, error) {
	q, err := encode(content)
	if err != nil {
		return nil, "", err
	}
	bm := q.Bitmap() // with its 4-module quiet zone
	n := len(bm)
	frac := 1.0 // share of the side the QR square takes
	if o.Round {
		frac = 0.66 // inside the disc's inscribed square (0.707), clear of the ring
	}
	w := o.Width
	if need := int(math.Ceil(float64(n*minModulePx) / frac)); w < need {
		w = need
	}
	img := image.NewRGBA(image.Rect(0, 0, w, w))
	white := color.RGBA{255, 255, 255, 255}
	if !o.Round || !o.Hyaline {
		draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	}
	if o.Round {
		c := float64(w) / 2
		ring := math.Max(2, float64(w)/60)
		outer, inner := c*c, (c-ring)*(c-ring) // squared: no square root a pixel
		for y := 0; y < w; y++ {
			dy := float64(y) + 0.5 - c
			for x := 0; x < w; x++ {
				dx := float64(x) + 0.5 - c
				switch d := dx*dx + dy*dy; {
				case d > outer:
				case d > inner:
					img.SetRGBA(x, y, o.Line)
				default:
					img.SetRGBA(x, y, white)
				}
			}
		}
	}
	px := int(float64(w) * frac / float64(n))
	off := (w - px*n) / 2
	line := image.NewUniform(o.Line)
	for y, row := range bm {
		for x, dark := range row {
			if dark {
				r := image.Rect(off+x*px, off+y*px, off+(x+1)*px, off+(y+1)*px)
				draw.Draw(img, r, line, image.Point{}, draw.Src)
			}
		}
	}
	var buf bytes.Buffer
	if o.Round && o.Hyaline {
		err := pngEncoder.Encode(&buf, img)
		return buf.Bytes(), "image/png", err
	}
	// Quality 90 keeps module edges sharp enough to scan.
	err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes(), "image/jpeg", err
}

// Avatar is a head image: a disc of the colour over white, PNG. It is
// drawn with a two-colour palette: a byte a pixel rather than four, which
// made encoding it 1.2 ms and 0.9 MB of garbage; it is served to anyone
// who names an appid.
func Avatar(c color.RGBA, side int) ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, c})
	r := float64(side) / 2
	for y := 0; y < side; y++ {
		dy := float64(y) + 0.5 - r
		for x := 0; x < side; x++ {
			if dx := float64(x) + 0.5 - r; dx*dx+dy*dy <= r*r*0.81 { // within 0.9 r
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var buf bytes.Buffer
	err := pngEncoder.Encode(&buf, img)
	return buf.Bytes(), err
}

// pngEncoder reuses its compressor between images (a new one is most of
// a small image's 0.9 MB of allocations).
var pngEncoder = png.Encoder{BufferPool: &pngPool{}}

type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }
