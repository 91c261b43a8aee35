//go:build unix

package store

import (
	"os"
	"syscall"
)

// fileID is what tells one directory from another that took its name:
// its device and inode.
func fileID(fi os.FileInfo) (dev, ino uint64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), true
}
