package store

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// readMessageFile reads a whole message file with open, fstat, reads of
// the size fstat gave and close. os.ReadFile and os.Open make five more system calls
// on Linux: a regular file is offered to the runtime's poller
// (fcntl to non-blocking, epoll_ctl, which refuses it, fcntl back), and
// on this project's 2-core VMs a system call costs microseconds, so a
// FETCH of 100 bodies, or the first index of 10,000 files, spent as much
// time there as in reading (bench/imap; strace -c of os.ReadFile). Errors
// are *os.PathError around the errno, so errors.Is(err, fs.ErrNotExist)
// holds as with os.ReadFile. It also returns the file's mtime, the
// message's internal date, so that the index needs no stat of its own.
func readMessageFile(path string) ([]byte, time.Time, error) {
	fd, err := ignoringEINTR(func() (int, error) {
		return syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, time.Time{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, time.Time{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, time.Time{}, fmt.Errorf("%s: not a regular file", path)
	}
	// Read up to the size fstat gave: a message file is written in tmp/
	// and renamed into place whole (Maildir), so it does not grow; the
	// read that would only see its end was a system call for every file
	// (a fifth of them, and each costs microseconds here). A file cut
	// short meanwhile ends at what it has.
	raw := make([]byte, st.Size)
	got := 0
	for got < len(raw) {
		n, err := ignoringEINTR(func() (int, error) { return syscall.Read(fd, raw[got:]) })
		if err != nil {
			return nil, time.Time{}, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		got += n
	}
	raw = raw[:got]
	return raw, time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)), nil
}

func ignoringEINTR(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
