package journal

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// A rotated segment's records are compressed with gzip (.jsonl.gz, about
// a tenth of the size: the records repeat their field names), in the
// background so that appends never wait for it. The bodies file stays
// as it is: replay reads a message at an offset. The plain file is
// removed only once the compressed one is complete and synced; until
// then readers use the plain one, so a crash at any point loses nothing
// (Open compresses what is left plain).

// compressLater compresses seg's records in the background; Close waits.
func (j *Journal) compressLater(seg segment) {
	j.compressing.Add(1)
	go func() {
		defer j.compressing.Done()
		j.compressMu.Lock()
		defer j.compressMu.Unlock()
		if err := compressRecords(seg.records(j.dir)); err != nil && !os.IsNotExist(err) {
			j.opts.Logger.Warn("journal: compressing a rotated file; it stays as it is", "file", seg.records(j.dir), "err", err)
		}
		// Retention may have removed the plain file meanwhile, leaving
		// the .gz just made: apply it again.
		j.mu.Lock()
		if !j.closed {
			j.prune()
		}
		j.mu.Unlock()
	}()
}

// compressRecords writes path.gz through a temporary file, syncs it, and
// then removes path.
func compressRecords(path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := path + gzSuffix + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if serr := out.Sync(); err == nil {
		err = serr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path+gzSuffix)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return os.Remove(path)
}
