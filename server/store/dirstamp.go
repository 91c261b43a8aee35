package store

import (
	"os"
	"path/filepath"
	"time"
)

// dirSettle is how old a directory's mtime must be, when a full sync reads
// the directory, before that mtime may stand for the listing. A file
// added, removed or renamed later within the same timestamp tick would
// leave the mtime unchanged; ticks are one second on the coarsest
// filesystems a Maildir lives on (ext3, NFSv3), so after a second any
// later change gives a different mtime. Dovecot's Maildir sync trusts a
// directory mtime only after the same kind of delay.
const dirSettle = time.Second

// dirStamp is what a full sync saw of new/ and cur/ before it listed
// them. While both are the same directories with the same mtimes, no file
// was added, removed or renamed in them, so a full sync need not list
// 10,000 names again (a warm SELECT did, each time). Changes the store
// makes itself rename files too, so they also move the mtime.
type dirStamp struct {
	new, cur os.FileInfo // nil: unknown, list the directory
}

// statDirs stamps the mailbox's directories as they are now.
func (m *Mailbox) statDirs() (dirStamp, error) {
	n, err := os.Stat(filepath.Join(m.dir, "new"))
	if err != nil {
		return dirStamp{}, err
	}
	c, err := os.Stat(filepath.Join(m.dir, "cur"))
	if err != nil {
		return dirStamp{}, err
	}
	return dirStamp{new: n, cur: c}, nil
}

// same reports whether both directories are unchanged since s was taken.
func (s dirStamp) same(now dirStamp) bool {
	return s.new != nil && s.cur != nil && now.new != nil && now.cur != nil &&
		os.SameFile(s.new, now.new) && s.new.ModTime().Equal(now.new.ModTime()) &&
		os.SameFile(s.cur, now.cur) && s.cur.ModTime().Equal(now.cur.ModTime())
}

// settled returns s if both mtimes were at least dirSettle older than
// taken (the moment before the stat) and so can be trusted, else the
// empty stamp, which makes the next full sync list the directories.
func (s dirStamp) settled(taken time.Time) dirStamp {
	if s.new == nil || s.cur == nil ||
		taken.Sub(s.new.ModTime()) < dirSettle || taken.Sub(s.cur.ModTime()) < dirSettle {
		return dirStamp{}
	}
	return s
}
