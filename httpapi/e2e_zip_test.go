package httpapi_test

import (
	"archive/zip"
	"bytes"
	"testing"
)

// templateZip builds a template package; nil gives a minimal valid one.
func templateZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	if files == nil {
		files = map[string]string{"app.json": `{"pages":["index"]}`, "index.js": "Page({})", "index.wxml": "<view/>"}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}
