package store

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// renameMessage renames a message file within its mailbox: a flag change
// in cur/, or new/ to cur/ when a session first sees it. os.Rename first
// Lstats the new name to refuse replacing a directory; here the new name
// is a message file name sluice made, so that check only costs a system
// call per message: about a third of a STORE over 10,000 messages
// (bench/imap -cpuprofile). The error is the *os.LinkError os.Rename
// gives, so errors.Is(err, os.ErrNotExist) still tells a file removed
// from outside.
func renameMessage(from, to string) error {
	if err := unix.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// renamer renames many message files of one mailbox by their names in
// new/ and cur/, relative to handles on those directories opened once:
// the kernel then looks up one name per file, not each directory of the
// whole path, and no path is joined. A STORE over 10,000 messages spent
// an eighth of its time there besides the renames themselves (bench/imap
// profile). Close it after use.
type renamer struct {
	dir string
	fds map[string]int // by sub (new, cur)
}

func newRenamer(dir string) *renamer { return &renamer{dir: dir, fds: map[string]int{}} }

// rename moves fromSub/from to toSub/to, with renameMessage's errors.
func (r *renamer) rename(fromSub, from, toSub, to string) error {
	ffd, err := r.fd(fromSub)
	if err == nil {
		var tfd int
		if tfd, err = r.fd(toSub); err == nil {
			err = unix.Renameat(ffd, from, tfd, to)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: filepath.Join(r.dir, fromSub, from), New: filepath.Join(r.dir, toSub, to), Err: err}
	}
	return nil
}

func (r *renamer) fd(sub string) (int, error) {
	if fd, ok := r.fds[sub]; ok {
		return fd, nil
	}
	fd, err := unix.Open(filepath.Join(r.dir, sub), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	r.fds[sub] = fd
	return fd, nil
}

func (r *renamer) close() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
}

// ownRenamer is a renamer for many of the store's own renames in one
// mailbox (a STORE over it, or the renames that follow one): past
// pauseAfter renames it stops watching the mailbox until closed
// (watch.go). Use it with the mailbox's lock held; close it after use.
type ownRenamer struct {
	*renamer
	m      *Mailbox
	n      int
	paused bool
}

func (m *Mailbox) newOwnRenamer() *ownRenamer {
	return &ownRenamer{renamer: newRenamer(m.dir), m: m}
}

// rename is renamer.rename, pausing the watch first once pauseAfter
// renames were made.
func (r *ownRenamer) rename(fromSub, from, toSub, to string) error {
	if r.n == pauseAfter && !r.paused {
		r.paused = r.m.a.s.watch.pause(r.m) // our renames need no events (watch.go)
	}
	r.n++
	return r.renamer.rename(fromSub, from, toSub, to)
}

func (r *ownRenamer) close() {
	r.renamer.close()
	if r.paused {
		r.m.a.s.watch.resume(r.m)
	}
}
