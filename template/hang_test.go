package template

import (
	"math/rand"
	"testing"
	"time"
)

func TestHangHunt(t *testing.T) {
	seeds := [][]byte{zipOf(t, treeFiles(t, "testdata/twopkg"), ""), mkZip(t, zent{name: "app.json", body: []byte(`{"pages":["a"]}`)}, zent{name: "a.js", body: make([]byte, 5000), claim: 10})}
	lim := Limits{PackageBytes: 64 << 10, TotalBytes: 128 << 10, Files: 64}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		s := seeds[r.Intn(len(seeds))]
		b := append([]byte(nil), s...)
		for k := r.Intn(8) + 1; k > 0; k-- {
			b[r.Intn(len(b))] = byte(r.Intn(256))
		}
		done := make(chan struct{})
		go func() { ReadZipBytes(b, lim); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("hang on iteration %d", i)
			_ = b
		}
	}
}
