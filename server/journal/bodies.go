package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Bodies reads message copies keeping each bodies file open, for readers
// that go through many records (replay). It is not safe for concurrent
// use; Close it when done.
type Bodies struct {
	dir   string
	files map[string]*os.File
}

// NewBodies reads the copies of the journal in dir.
func NewBodies(dir string) *Bodies { return &Bodies{dir: dir, files: map[string]*os.File{}} }

// Read returns the copy b points to.
func (bs *Bodies) Read(b *Body) ([]byte, error) {
	if b == nil {
		return nil, fmt.Errorf("the journal kept no copy of this message")
	}
	f := bs.files[b.File]
	if f == nil {
		if b.File != filepath.Base(b.File) || !strings.HasSuffix(b.File, bodySuffix) {
			return nil, fmt.Errorf("journal: bad body file name %q", b.File)
		}
		var err error
		if f, err = os.Open(filepath.Join(bs.dir, b.File)); err != nil {
			return nil, fmt.Errorf("journal: the copy of the message is gone: %w", err)
		}
		bs.files[b.File] = f
	}
	out := make([]byte, b.Size)
	if _, err := f.ReadAt(out, b.Offset); err != nil {
		return nil, fmt.Errorf("journal: reading the copy of the message: %w", err)
	}
	return out, nil
}

// Close closes the files opened.
func (bs *Bodies) Close() {
	for _, f := range bs.files {
		f.Close()
	}
	bs.files = map[string]*os.File{}
}
