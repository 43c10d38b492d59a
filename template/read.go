package template

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/miniship/miniship/wxerr"
)

// Open reads a template from a directory or a zip file. A path that cannot
// be read is an invalid template (85043).
func Open(path string, lim Limits) (*Template, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, invalid("cannot read template: %v", err)
	}
	if fi.IsDir() {
		return ReadDir(path, lim)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, invalid("cannot read template: %v", err)
	}
	defer f.Close()
	return ReadZip(f, fi.Size(), lim)
}

// ReadZipBytes reads a template from a zip held in memory, as the server
// keeps uploaded drafts.
func ReadZipBytes(b []byte, lim Limits) (*Template, error) {
	return ReadZip(bytes.NewReader(b), int64(len(b)), lim)
}

// ReadZip reads a template from a zip archive.
func ReadZip(r io.ReaderAt, size int64, lim Limits) (*Template, error) {
	lim = lim.withDefaults()
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are judged below, one by one
		return nil, invalid("not a zip archive: %v", err)
	}
	if len(zr.File) > lim.Files {
		return nil, wxerr.Errorf(wxerr.PackageTooLarge, "the zip has %d entries, the limit is %d", len(zr.File), lim.Files)
	}
	files := make(map[string][]byte, len(zr.File))
	var total int64
	for _, f := range zr.File {
		name := f.Name
		mode := f.Mode()
		if mode.IsDir() {
			if len(name) > 0 && name[len(name)-1] == '/' {
				name = name[:len(name)-1]
			}
			if _, err := checkName(name); err != nil {
				return nil, err
			}
			continue
		}
		if !mode.IsRegular() {
			return nil, invalid("zip entry %q is a %s, only regular files are allowed", name, fileKind(mode))
		}
		skip, err := checkName(name)
		if err != nil {
			return nil, err
		}
		if _, dup := files[name]; dup {
			return nil, invalid("zip entry %q appears twice", name)
		}
		if skip {
			continue
		}
		// The header's size is a claim: refuse early when it is already too
		// big, and in any case stop reading one byte past what is allowed.
		allowed := min(lim.PackageBytes, lim.TotalBytes-total)
		if f.UncompressedSize64 > uint64(allowed) {
			return nil, tooBig(name, lim)
		}
		b, err := readCapped(f, allowed)
		if err != nil {
			switch {
			case errors.Is(err, errTooBig):
				return nil, tooBig(name, lim)
			case errors.Is(err, zip.ErrFormat), errors.Is(err, zip.ErrChecksum):
				return nil, invalid("zip entry %q: its data does not match its header (size or checksum)", name)
			}
			return nil, invalid("zip entry %q: %v", name, err)
		}
		total += int64(len(b))
		files[name] = b
	}
	return build(files, lim)
}

var errTooBig = errors.New("too big")

func tooBig(name string, lim Limits) error {
	return wxerr.Errorf(wxerr.PackageTooLarge, "file %q takes the template past its limits (%d bytes per package, %d in all)", name, lim.PackageBytes, lim.TotalBytes)
}

func readCapped(f *zip.File, allowed int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, allowed+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > allowed {
		return nil, errTooBig
	}
	return b, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// ReadDir reads a template from a directory. Symlinks inside it are refused
// rather than followed; the directory is opened as an os.Root so nothing
// outside it can be reached even if the tree changes while it is read.
func ReadDir(dir string, lim Limits) (*Template, error) {
	lim = lim.withDefaults()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, invalid("cannot read template: %v", err)
	}
	defer root.Close()
	fsys := root.FS()
	files := map[string][]byte{}
	var total int64
	count := 0
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return invalid("cannot read template: %v", err)
		}
		if name == "." {
			return nil
		}
		if count++; count > lim.Files {
			return wxerr.Errorf(wxerr.PackageTooLarge, "the template has more than %d files", lim.Files)
		}
		skip, err := checkName(name)
		if err != nil {
			return err
		}
		switch {
		case skip && d.IsDir():
			return fs.SkipDir
		case skip || d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return invalid("%q is a %s, only regular files are allowed", name, fileKind(d.Type()))
		}
		f, err := root.Open(name)
		if err != nil {
			return invalid("cannot read %q: %v", name, err)
		}
		defer f.Close()
		// Re-check on the open file: the entry could have been swapped.
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return invalid("%q is not a regular file", name)
		}
		allowed := min(lim.PackageBytes, lim.TotalBytes-total)
		b, err := io.ReadAll(io.LimitReader(f, allowed+1))
		if err != nil {
			return invalid("cannot read %q: %v", name, err)
		}
		if int64(len(b)) > allowed {
			return tooBig(name, lim)
		}
		total += int64(len(b))
		files[name] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return build(files, lim)
}
