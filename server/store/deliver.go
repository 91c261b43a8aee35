package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Deliver stores raw in mailbox of user, durably: the file is written in
// tmp/, fsynced, renamed into new/ (or cur/ when flags are given) and that
// directory fsynced before Deliver returns. The mailbox is created if
// needed. Deliveries run in parallel; concurrent renames into one
// directory share an fsync. Deliver does not check the quota: a message
// the SMTP session accepted is never refused here (see CheckQuota).
func (s *Store) Deliver(user, mailbox string, raw []byte, flags string, date time.Time) error {
	_, err := s.put(user, mailbox, raw, flags, date, flags != "")
	return wrapErr("deliver", user, mailbox, err)
}

// put writes one message and returns its mailbox's clean name and the file
// name it got. inCur puts it in cur/ with an info part even without flags.
func (s *Store) put(user, mailbox string, raw []byte, flags string, date time.Time, inCur bool) (stored, error) {
	return s.putNamed(user, mailbox, raw, flags, date, inCur, "")
}

// putNamed is put with a given unique base name ("" makes one): an
// importer keeps the old server's names, which its dovecot-uidlist uses.
func (s *Store) putNamed(user, mailbox string, raw []byte, flags string, date time.Time, inCur bool, base string) (stored, error) {
	user = strings.ToLower(user)
	userDir, err := s.UserDir(user)
	if err != nil {
		return stored{}, err
	}
	clean, err := CleanName(mailbox)
	if err != nil {
		return stored{}, err
	}
	if err := s.ensureMailbox(userDir, clean); err != nil {
		return stored{}, err
	}
	dir := filepath.Join(userDir, folderDir(clean))
	now := time.Now()
	if date.IsZero() {
		date = now
	}
	if base == "" {
		base = s.names.base(len(raw), now)
	}
	tmp := filepath.Join(dir, "tmp", base)
	if err := writeSynced(tmp, raw, date); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.forget(dir) // removed behind our back: recreate next time
		}
		return stored{}, err
	}
	sub, name := "new", base
	if inCur {
		sub, name = "cur", base+infoSep+CleanFlags(flags)
	}
	u := s.user(user)
	u.mu.Lock()
	err = os.Rename(tmp, filepath.Join(dir, sub, name))
	if err == nil && u.known {
		u.usage += int64(len(raw))
	}
	u.mu.Unlock()
	if err != nil {
		os.Remove(tmp)
		return stored{}, err
	}
	if err := s.dirs.sync(filepath.Join(dir, sub)); err != nil {
		return stored{}, fmt.Errorf("fsync %s: %w", sub, err)
	}
	st := stored{mailbox: clean, dir: dir, sub: sub, name: name, base: base}
	s.changed(user, st)
	return st, nil
}

// stored says where put left a message.
type stored struct {
	mailbox, dir, sub, name, base string
}

// writeSynced creates path exclusively, writes data, sets its times to
// date (Maildir readers take the internal date from the mtime) and fsyncs.
func writeSynced(path string, data []byte, date time.Time) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = os.Chtimes(path, date, date)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
