package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// MaildirUser is one account's Maildir++ tree on the old server's disk.
type MaildirUser struct {
	Address string
	Dir     string // the directory holding cur/, new/ and the .Folder directories
	Home    string // the user's home (Dir or its parent), where Dovecot keeps .dovecot.sieve
	// Mbox, when set, is the home's mbox tree (Dovecot's mbox:~/mail),
	// read instead of a Maildir; Inbox is then the INBOX spool file
	// (/var/mail/USER), if the caller knows it.
	Mbox  string
	Inbox string
}

// FindMaildirUsers finds the users under a Dovecot mail root laid out as
// ROOT/DOMAIN/USER (mail_location = maildir:ROOT/%d/%n), with the Maildir
// there or in its Maildir/ sub-directory. With domain set the layout is
// ROOT/USER (mail_location = maildir:ROOT/%n) and every user is at domain.
func FindMaildirUsers(root, domain string) ([]MaildirUser, error) {
	var out []MaildirUser
	add := func(addr, home string) {
		if dir, ok := maildirIn(home); ok {
			out = append(out, MaildirUser{Address: strings.ToLower(addr), Dir: dir, Home: home})
		} else if mbox, ok := mboxIn(home); ok {
			out = append(out, MaildirUser{Address: strings.ToLower(addr), Home: home, Mbox: mbox})
		}
	}
	tops, err := subdirs(root)
	if err != nil {
		return nil, err
	}
	for _, top := range tops {
		if domain != "" {
			add(top+"@"+domain, filepath.Join(root, top))
			continue
		}
		users, err := subdirs(filepath.Join(root, top))
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			add(u+"@"+top, filepath.Join(root, top, u))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

// maildirIn returns the Maildir of a home directory: the home itself or
// its Maildir/ sub-directory.
func maildirIn(home string) (string, bool) {
	for _, d := range []string{home, filepath.Join(home, "Maildir")} {
		if st, err := os.Stat(filepath.Join(d, "cur")); err == nil && st.IsDir() {
			return d, true
		}
	}
	return "", false
}

// mboxIn returns the mbox folder directory of a home, as Dovecot's
// mbox:~/mail layout keeps it (~/mail or ~/Mail), when it holds at least
// one mbox file.
func mboxIn(home string) (string, bool) {
	for _, d := range []string{filepath.Join(home, "mail"), filepath.Join(home, "Mail")} {
		found := false
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || found {
				return filepath.SkipDir
			}
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && startsWithFrom(p) {
				found = true
			}
			return nil
		})
		if found {
			return d, true
		}
	}
	return "", false
}

// startsWithFrom reports whether a file begins with an mbox "From " line.
func startsWithFrom(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 5)
	n, _ := f.Read(head)
	return n == 5 && string(head) == "From "
}

func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// MaildirFolder is one folder of a Maildir++ tree.
type MaildirFolder struct {
	Mailbox string // sluice's name for it
	Dir     string
}

// MaildirFolders lists a Maildir++ tree's folders, INBOX first.
func MaildirFolders(dir string) ([]MaildirFolder, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := []MaildirFolder{{Mailbox: store.Inbox, Dir: dir}}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, n, "cur")); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, MaildirFolder{Mailbox: FolderName(n[1:]), Dir: filepath.Join(dir, n)})
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Mailbox < out[1+j].Mailbox })
	return out, nil
}

// FolderResult counts one folder of an import: Source messages found on
// the old server, of which Imported were copied now, Already were there
// from an earlier run and Failed could not be (Errors says why).
type FolderResult struct {
	Mailbox                           string
	Source, Imported, Already, Failed int
	Bytes                             int64
	UIDsKept                          bool // the old UIDVALIDITY and UIDs were handed on
	Errors                            []string
}

// Complete reports whether every source message is in sluice.
func (r FolderResult) Complete() bool { return r.Failed == 0 && r.Imported+r.Already == r.Source }

// MaildirImporter copies Maildir++ trees into sluice's store. It writes
// only files (never the index a running server holds), so it works beside
// the server, which adopts the new messages at its next scan.
type MaildirImporter struct {
	Store *store.Store
	// Progress, when set, is called after each message with its size.
	Progress func(bytes int64)
	// Sieve, when set, is called once for a user whose home holds Sieve
	// scripts (.dovecot.sieve, sieve/*.sieve) to take them over, as
	// (*scripts.Store).ImportDovecot does; it returns the script it made
	// active. Unset, ImportUser lists them in SieveScripts for the caller
	// to say they were not imported.
	Sieve func(address, home string) (active string, err error)
}

// UserResult is the outcome of one user's import.
type UserResult struct {
	Folders      []FolderResult
	SieveScripts []string // found and not handed to a Sieve hook
	SieveFound   []string // found and handed to the Sieve hook
	SieveActive  string   // the script the hook made active ("" for none)
	SieveErr     error    // what the hook could not import; the rest was
}

// ImportUser copies every folder of u's Maildir into the account u.Address,
// keeping flags, keywords, dates and, for folders sluice has not indexed
// yet, the UIDVALIDITY and UIDs. A message that cannot be read or stored
// is counted in its folder and the import goes on; an error that stops it
// (a full disk) is returned, and a re-run resumes.
func (mi *MaildirImporter) ImportUser(u MaildirUser) (UserResult, error) {
	var res UserResult
	im, err := mi.Store.NewImporter(u.Address)
	if err != nil {
		return res, err
	}
	var folders []MaildirFolder
	if u.Mbox != "" {
		folders, err = mboxUserFolders(u)
	} else {
		folders, err = MaildirFolders(u.Dir)
	}
	if err == nil {
		for _, f := range folders {
			importFolder := mi.importFolder
			if u.Mbox != "" {
				importFolder = mi.importMboxFolder
			}
			fr, ferr := importFolder(im, f)
			res.Folders = append(res.Folders, fr)
			if ferr != nil {
				err = ferr
				break
			}
		}
	}
	if cerr := im.Close(); err == nil {
		err = cerr
	}
	if found := SieveScripts(u.Home); len(found) > 0 && mi.Sieve == nil {
		res.SieveScripts = found
	} else if len(found) > 0 {
		res.SieveFound = found
		res.SieveActive, res.SieveErr = mi.Sieve(u.Address, u.Home)
	}
	return res, err
}

// SieveScripts lists the Sieve scripts Dovecot's Pigeonhole keeps in a
// home directory: the active .dovecot.sieve and the scripts in sieve/.
func SieveScripts(home string) []string {
	var out []string
	if st, err := os.Stat(filepath.Join(home, ".dovecot.sieve")); err == nil && !st.IsDir() {
		out = append(out, filepath.Join(home, ".dovecot.sieve"))
	}
	found, _ := filepath.Glob(filepath.Join(home, "sieve", "*.sieve"))
	return append(out, found...)
}

// maildirMessage is one message file of a source folder.
type maildirMessage struct {
	path, base, flags string
}

func (mi *MaildirImporter) importFolder(im *store.Importer, f MaildirFolder) (FolderResult, error) {
	res := FolderResult{Mailbox: f.Mailbox}
	msgs, err := folderMessages(f.Dir)
	res.Source = len(msgs)
	if err != nil {
		res.Failed = res.Source
		res.Errors = append(res.Errors, err.Error())
		return res, nil
	}
	mailbox, dst, err := im.Mailbox(f.Mailbox)
	if err != nil {
		res.Failed = res.Source
		res.Errors = append(res.Errors, err.Error())
		if store.IsPermanent(err) {
			return res, nil
		}
		return res, err
	}
	res.Mailbox = mailbox
	letters, err := mapKeywords(f.Dir, dst)
	if err != nil {
		return res, fmt.Errorf("%s: dovecot-keywords: %w", mailbox, err)
	}
	if ul := store.ReadUIDList(f.Dir); ul != nil {
		bases := make([]string, len(msgs))
		for i, m := range msgs {
			bases[i] = m.base
		}
		if res.UIDsKept, err = store.MergeUIDList(dst, ul, bases); err != nil {
			return res, fmt.Errorf("%s: dovecot-uidlist: %w", mailbox, err)
		}
	}
	for _, m := range msgs {
		if err := mi.importMessage(im, mailbox, m, letters, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// importMessage copies one file; only an error that should stop the
// whole import (not a bad message) is returned.
func (mi *MaildirImporter) importMessage(im *store.Importer, mailbox string, m maildirMessage, letters map[byte]byte, res *FolderResult) error {
	raw, err := os.ReadFile(m.path)
	date := fileTime(m.path)
	if err != nil {
		res.Failed++
		res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", m.path, err))
		return nil
	}
	stored, err := im.ImportNamed(mailbox, m.base, raw, translateFlags(m.flags, letters), date)
	switch {
	case err != nil && store.IsPermanent(err):
		res.Failed++
		res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", m.path, err))
	case err != nil:
		return fmt.Errorf("%s: %w", mailbox, err)
	case stored:
		res.Imported++
		res.Bytes += int64(len(raw))
	default:
		res.Already++
	}
	if mi.Progress != nil {
		mi.Progress(int64(len(raw)))
	}
	return nil
}

// folderMessages lists the message files of a Maildir folder.
func folderMessages(dir string) ([]maildirMessage, error) {
	var out []maildirMessage
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			base, flags, _ := strings.Cut(e.Name(), ":2,")
			out = append(out, maildirMessage{path: filepath.Join(dir, sub, e.Name()), base: base, flags: flags})
		}
	}
	return out, nil
}

// mapKeywords makes the destination's dovecot-keywords name every keyword
// of the source folder and returns source letter -> destination letter.
func mapKeywords(src, dst string) (map[byte]byte, error) {
	names := store.ReadDovecotKeywords(src)
	if len(names) == 0 {
		return nil, nil
	}
	list := make([]string, 0, len(names))
	for l := byte('a'); l <= 'z'; l++ {
		if n, ok := names[l]; ok {
			list = append(list, n)
		}
	}
	to, err := store.KeywordLetters(dst, list)
	if err != nil {
		return nil, err
	}
	out := map[byte]byte{}
	for l, n := range names {
		if d, ok := to[n]; ok {
			out[l] = d
		}
	}
	return out, nil
}

// translateFlags keeps the system flag letters of a Maildir name and maps
// its keyword letters (a-z) through letters; unknown keyword letters,
// which would name nothing, are dropped.
func translateFlags(flags string, letters map[byte]byte) string {
	var b []byte
	for i := 0; i < len(flags); i++ {
		c := flags[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c)
		case c >= 'a' && c <= 'z':
			if d, ok := letters[c]; ok {
				b = append(b, d)
			}
		}
	}
	return store.CleanFlags(string(b))
}

// fileTime is a message file's modification time, which Dovecot and
// other Maildir servers use as the INTERNALDATE.
func fileTime(path string) (t time.Time) {
	if st, err := os.Stat(path); err == nil {
		t = st.ModTime()
	}
	return t
}
