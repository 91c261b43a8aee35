//go:build !unix

package store

import "os"

// fileID: without a device and inode to compare, no stamp is kept across
// restarts and every load lists the directories.
func fileID(fi os.FileInfo) (dev, ino uint64, ok bool) { return 0, 0, false }
