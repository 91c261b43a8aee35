package imap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// FuzzBodyStructure feeds arbitrary messages to the BODYSTRUCTURE path and
// checks that what reaches go-imap's writer is always writable: no empty
// multipart, no nil node, extension data everywhere.
func FuzzBodyStructure(f *testing.F) {
	files, _ := filepath.Glob("../../engine/testdata/mime/*/*.eml")
	if len(files) == 0 {
		f.Fatal("no seed messages in ../../engine/testdata/mime")
	}
	for _, p := range files {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		bs := safeBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(raw)))
		checkWritable(t, bs, 0)
	})
}

func checkWritable(t *testing.T, bs imap.BodyStructure, depth int) {
	t.Helper()
	switch b := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(b.Children) == 0 || b.Extended == nil {
			t.Fatalf("unwritable multipart at depth %d: %+v", depth, b)
		}
		for _, c := range b.Children {
			checkWritable(t, c, depth+1)
		}
	case *imap.BodyStructureSinglePart:
		if b.Extended == nil || b.Type == "" || b.Subtype == "" {
			t.Fatalf("unwritable part at depth %d: %+v", depth, b)
		}
		if m := b.MessageRFC822; m != nil {
			if m.Envelope == nil {
				t.Fatalf("attached message without envelope at depth %d", depth)
			}
			checkWritable(t, m.BodyStructure, depth+1)
		}
	default:
		t.Fatalf("unknown node %T at depth %d", bs, depth)
	}
}
