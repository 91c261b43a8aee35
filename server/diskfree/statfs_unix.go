//go:build linux || darwin || freebsd

package diskfree

import "syscall"

// Statfs reads the file system holding path with statfs(2): the blocks
// available to an unprivileged user (not those reserved for root, which a
// full disk leaves to the system) and the total.
func Statfs(path string) (avail, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), uint64(st.Blocks) * uint64(st.Bsize), nil
}
