package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
)

// Version is a content hash of every file the set was read from (rule
// files, lists, tests), the first 12 hex digits of a SHA-256: the verdict
// journal records it so that a verdict names the rules that made it, and
// two loads of the same files get the same version.
func (s *Set) Version() string {
	if len(s.pipelines) > 0 {
		for _, p := range s.pipelines {
			if p.Version != "" {
				return p.Version
			}
		}
	}
	return hashFiles(s.Dir, s.Watched)
}

// stampVersion gives every pipeline of the set the set's version.
func (s *Set) stampVersion() {
	v := hashFiles(s.Dir, s.Watched)
	for _, p := range s.pipelines {
		p.Version = v
	}
}

func hashFiles(dir string, files []string) string {
	h := sha256.New()
	for _, f := range files {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			rel = f
		}
		io.WriteString(h, rel+"\x00")
		if fh, err := os.Open(f); err == nil {
			io.Copy(h, fh)
			fh.Close()
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
