package store

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ImportLog is the file in a user's Maildir that lists the digests of the
// messages `sluice import` stored, so that a second run skips them. It is
// a plain file, not the index, so that an import can run while the server
// (which holds the index open) is running; the server adopts the new files
// at its next scan.
const ImportLog = "sluice-imported"

// Importer stores messages into one user's mailboxes, each message at
// most once per mailbox across runs.
type Importer struct {
	s    *Store
	user string
	f    *os.File
	w    *bufio.Writer
	seen map[string]bool
}

// NewImporter opens the import log of user, creating the user's standard
// mailboxes if needed.
func (s *Store) NewImporter(user string) (*Importer, error) {
	user = strings.ToLower(user)
	if err := s.EnsureUser(user); err != nil {
		return nil, err
	}
	dir, _ := s.UserDir(user)
	path := filepath.Join(dir, ImportLog)
	seen := map[string]bool{}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			seen[strings.TrimSpace(sc.Text())] = true
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("store: reading %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Importer{s: s, user: user, f: f, w: bufio.NewWriter(f), seen: seen}, nil
}

// Import stores raw in mailbox with Maildir flags and internal date,
// unless the same message was imported into that mailbox before; stored
// reports which.
func (im *Importer) Import(mailbox string, raw []byte, flags string, date time.Time) (stored bool, err error) {
	clean, err := CleanName(mailbox)
	if err != nil {
		return false, err
	}
	digest := importDigest(clean, raw)
	if im.seen[digest] {
		return false, nil
	}
	if err := im.s.Deliver(im.user, clean, raw, CleanFlags(flags), date); err != nil {
		return false, err
	}
	return true, im.remember(digest)
}

// ImportNamed is Import keeping the message's Maildir base name from the
// old server (so that a dovecot-uidlist written beside it gives it its old
// UID). A file of that base already in the mailbox counts as imported.
func (im *Importer) ImportNamed(mailbox, base string, raw []byte, flags string, date time.Time) (stored bool, err error) {
	if base == "" || base[0] == '.' || strings.ContainsAny(base, "/\x00") || strings.Contains(base, infoSep) {
		return false, fmt.Errorf("%w: Maildir base name %q", ErrBadName, base)
	}
	clean, err := CleanName(mailbox)
	if err != nil {
		return false, err
	}
	digest := importDigest(clean, raw)
	if im.seen[digest] {
		return false, nil
	}
	dir, err := im.s.MailboxDir(im.user, clean)
	if err != nil {
		return false, err
	}
	if have, _ := filepath.Glob(filepath.Join(dir, "cur", globEscape(base)+"*")); len(have) > 0 {
		return false, im.remember(digest)
	}
	if _, err := os.Stat(filepath.Join(dir, "new", base)); err == nil {
		return false, im.remember(digest)
	}
	if _, err := im.s.putNamed(im.user, clean, raw, CleanFlags(flags), date, true, base); err != nil {
		return false, wrapErr("import", im.user, clean, err)
	}
	return true, im.remember(digest)
}

// Mailbox creates mailbox if needed and returns its clean name and
// directory, so that an importer can put dovecot-keywords and
// dovecot-uidlist there before the first message.
func (im *Importer) Mailbox(mailbox string) (clean, dir string, err error) {
	if clean, err = CleanName(mailbox); err != nil {
		return "", "", err
	}
	userDir, err := im.s.UserDir(im.user)
	if err != nil {
		return "", "", err
	}
	if err := im.s.ensureMailbox(userDir, clean); err != nil {
		return "", "", wrapErr("create", im.user, clean, err)
	}
	return clean, filepath.Join(userDir, folderDir(clean)), nil
}

func importDigest(mailbox string, raw []byte) string {
	h := sha256.New()
	h.Write([]byte(mailbox))
	h.Write([]byte{0})
	h.Write(raw)
	return hex.EncodeToString(h.Sum(nil))
}

// remember records digest in the import log.
func (im *Importer) remember(digest string) error {
	im.seen[digest] = true
	if _, err := im.w.WriteString(digest + "\n"); err != nil {
		return err
	}
	return im.w.Flush()
}

// globEscape quotes the glob metacharacters of a file name.
func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

// Close makes the import log durable.
func (im *Importer) Close() error {
	err := im.w.Flush()
	if serr := im.f.Sync(); err == nil {
		err = serr
	}
	if cerr := im.f.Close(); err == nil {
		err = cerr
	}
	return err
}
