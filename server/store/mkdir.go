package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Standard lists the mailboxes every user gets, INBOX first.
var Standard = []string{Inbox, Sent, Drafts, Junk, Trash, Archive}

// EnsureUser creates the Maildir of user with the standard mailboxes,
// if they are not there yet. Deliver calls it on a first delivery.
func (s *Store) EnsureUser(user string) error {
	dir, err := s.UserDir(user)
	if err != nil {
		return wrapErr("create", user, "", err)
	}
	for _, m := range Standard {
		if err := s.ensureMailbox(dir, m); err != nil {
			return wrapErr("create", user, m, err)
		}
	}
	return nil
}

// ensureMailbox makes the directories of a clean mailbox name and, for a
// user seen for the first time, the standard mailboxes too. Parents are
// fsynced so that a delivery into a new mailbox survives a crash.
func (s *Store) ensureMailbox(userDir, clean string) error {
	path := filepath.Join(userDir, folderDir(clean))
	if _, ok := s.made.Load(path); ok {
		return nil
	}
	if clean != Inbox {
		if err := s.ensureMailbox(userDir, Inbox); err != nil {
			return err
		}
	} else if _, err := os.Stat(userDir); errors.Is(err, fs.ErrNotExist) {
		defer s.ensureStandard(userDir)
	}
	if err := mkdirSynced(path); err != nil {
		return err
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := mkdirSynced(filepath.Join(path, sub)); err != nil {
			return err
		}
	}
	if clean != Inbox {
		// Maildir++ marks sub-folders with an empty "maildirfolder" file.
		mf := filepath.Join(path, "maildirfolder")
		f, err := os.OpenFile(mf, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		f.Close()
	}
	s.made.Store(path, struct{}{})
	return nil
}

func (s *Store) ensureStandard(userDir string) {
	for _, m := range Standard[1:] {
		if err := s.ensureMailbox(userDir, m); err != nil {
			s.log.Warn("store: creating standard mailbox", "dir", userDir, "mailbox", m, "err", err)
		}
	}
}

// mkdirSynced creates dir and its missing parents, fsyncing each parent
// whose entries changed.
func mkdirSynced(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")}
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return fsyncDir(parent)
}

// forget drops cached knowledge of a mailbox directory and of its
// children, which Maildir++ keeps beside it as path + ".Child" (after a
// mailbox is deleted or renamed).
func (s *Store) forget(path string) {
	s.made.Range(func(k, _ any) bool {
		p := k.(string)
		if p == path || strings.HasPrefix(p, path+".") {
			s.made.Delete(k)
		}
		return true
	})
}
