//go:build !(linux || darwin || freebsd)

package diskfree

import "errors"

// Statfs is not available here: the free space is unknown, and the
// Monitor never reports it low.
func Statfs(path string) (avail, total uint64, err error) {
	return 0, 0, errors.New("diskfree: statfs is not supported on this system")
}
