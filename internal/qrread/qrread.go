// Package qrread reads the QR code in an image, for tests that check what
// the server's codes carry. It uses gozxing, whose detector misreads some
// valid codes at some scales (a finder pattern sampled a pixel off): the
// same code reads at another scale or angle. So Read tries the image as it
// is, turned, and doubled, and fails only when none reads.
package qrread

import (
	"errors"
	"image"
	"image/draw"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Read returns the text of the QR code in img.
func Read(img image.Image) (string, error) {
	var errs []error
	for _, k := range []int{1, 2} {
		for turn := range 4 {
			bmp, err := gozxing.NewBinaryBitmapFromImage(transform(img, k, turn))
			if err != nil {
				return "", err
			}
			r, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
			if err == nil {
				return r.GetText(), nil
			}
			errs = append(errs, err)
		}
	}
	return "", errors.Join(errs...)
}

// transform enlarges img k times by repeating pixels (no smoothing, so
// module edges stay sharp) and turns it by turn quarter turns, over white
// so that transparency reads as paper. A phone reads a code at any angle;
// the detector finds the finder patterns in another order when turned.
func transform(img image.Image, k, turn int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := w*k, h*k
	if turn%2 == 1 {
		ow, oh = oh, ow
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := img.At(b.Min.X+x, b.Min.Y+y)
			tx, ty := x, y
			switch turn {
			case 1:
				tx, ty = h-1-y, x
			case 2:
				tx, ty = w-1-x, h-1-y
			case 3:
				tx, ty = y, w-1-x
			}
			draw.Draw(out, image.Rect(tx*k, ty*k, tx*k+k, ty*k+k), image.NewUniform(c), image.Point{}, draw.Over)
		}
	}
	return out
}
