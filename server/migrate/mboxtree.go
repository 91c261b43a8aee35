package migrate

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// mboxHidden are the headers Dovecot keeps its state in inside an mbox
// and hides from IMAP clients (mbox-sync-parse.c's mbox_hide_headers):
// they are not part of the message, so they are not copied.
var mboxHidden = map[string]bool{
	"Content-Length": true, "Status": true, "X-Imap": true, "X-Imapbase": true,
	"X-Keywords": true, "X-Status": true, "X-Uid": true,
}

// MboxFolders lists the mbox files of a Dovecot mbox tree (~/mail), one
// folder each, named by their path with "/" as the hierarchy separator;
// a top-level "inbox" file is INBOX. A directory is a folder too, empty
// (Dovecot shows it as \Noselect): sluice has no such mailboxes, and the
// user's hierarchy, even one without mail yet, comes along. Dot files and
// directories (.imap, .subscriptions) are Dovecot's own.
func MboxFolders(dir string) ([]MaildirFolder, error) {
	var out []MaildirFolder
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != dir {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if p == dir || !e.IsDir() && !e.Type().IsRegular() {
			return nil
		}
		if fi, err := e.Info(); !e.IsDir() && (err != nil || fi.Size() > 0 && !startsWithFrom(p)) {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		name := FolderName(strings.ReplaceAll(filepath.ToSlash(rel), "/", "."))
		if strings.EqualFold(rel, "inbox") {
			name = store.Inbox
		}
		out = append(out, MaildirFolder{Mailbox: name, Dir: p})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Mailbox < out[j].Mailbox })
	return out, err
}

// mboxMsg is one message of a Dovecot mbox as IMAP showed it, with the
// state Dovecot kept in its hidden headers.
type mboxMsg struct {
	msg      []byte
	flags    string // Maildir flag letters
	keywords []string
	date     time.Time
	uid      uint32 // X-UID, 0 when absent
	// validity and next are the first message's X-IMAPbase (UIDVALIDITY,
	// UIDNEXT); 0 in the others and when absent.
	validity, next uint32
	// pseudo marks the message Dovecot keeps first in a folder to hold
	// X-IMAP when no real message does ("DON'T DELETE THIS MESSAGE --
	// FOLDER INTERNAL DATA"): IMAP never shows it, so it is not copied.
	pseudo bool
}

// mboxMessage turns one message of a Dovecot mbox into what IMAP showed
// of it: the hidden headers removed, the blank line that separates it
// from the next From_ line dropped. It reads the Maildir flag letters
// (Status R: seen; X-Status A: answered, F: flagged, T: draft, D:
// deleted), the X-Keywords, the X-UID and the X-IMAPbase.
func mboxMessage(raw []byte) mboxMsg {
	raw = bytes.TrimSuffix(raw, []byte("\n"))
	end := bytes.Index(raw, []byte("\n\n"))
	if end < 0 {
		end = len(raw)
	} else {
		end++
	}
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(append([]byte(nil), raw[:end]...), '\n')))).ReadMIMEHeader()
	var letters []byte
	if strings.Contains(h.Get("Status"), "R") {
		letters = append(letters, 'S')
	}
	xs := h.Get("X-Status")
	for _, m := range []struct{ in, out byte }{{'A', 'R'}, {'F', 'F'}, {'T', 'D'}, {'D', 'T'}} {
		if strings.IndexByte(xs, m.in) >= 0 {
			letters = append(letters, m.out)
		}
	}
	m := mboxMsg{flags: store.CleanFlags(string(letters)), keywords: strings.Fields(h.Get("X-Keywords"))}
	m.uid = parseU32(h.Get("X-Uid"))
	base := strings.Fields(h.Get("X-Imapbase"))
	if pseudo := strings.Fields(h.Get("X-Imap")); len(pseudo) >= 2 {
		base, m.pseudo = pseudo, true
	}
	if len(base) >= 2 {
		m.validity, m.next = parseU32(base[0]), parseU32(base[1])
	}
	var out bytes.Buffer
	hidden := false
	for _, line := range bytes.SplitAfter(raw[:end], []byte("\n")) {
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !hidden {
				out.Write(line)
			}
			continue
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		hidden = ok && mboxHidden[textproto.CanonicalMIMEHeaderKey(string(bytes.TrimSpace(name)))]
		if !hidden {
			out.Write(line)
		}
	}
	out.Write(raw[end:])
	m.msg = out.Bytes()
	return m
}

// parseU32 is a decimal header value (Dovecot zero-pads UIDNEXT), 0 when
// it is not one.
func parseU32(s string) uint32 {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// mboxUIDList is what a Dovecot mbox says of its UIDs, in the form of a
// dovecot-uidlist, so that the store honours it exactly as it honours a
// Maildir's: the first message's X-IMAPbase gives UIDVALIDITY and
// UIDNEXT, each X-UID a UID, keyed by the base name the message is
// stored under (mboxBase). nil when the file has no X-IMAPbase (not
// written by Dovecot) or its UIDs are not strictly ascending, as they
// are in a file Dovecot has synced.
func mboxUIDList(msgs []mboxMsg) *store.UIDList {
	if len(msgs) == 0 || msgs[0].validity == 0 {
		return nil
	}
	ul := &store.UIDList{Validity: msgs[0].validity, Next: msgs[0].next, UIDs: map[string]uint32{}}
	var last uint32
	for _, m := range msgs {
		if m.uid == 0 || m.pseudo {
			continue
		}
		if m.uid <= last {
			return nil
		}
		last = m.uid
		ul.UIDs[mboxBase(ul.Validity, m)] = m.uid
	}
	if ul.Next <= last {
		ul.Next = last + 1
	}
	return ul
}

// mboxBase is the Maildir base name a message with an X-UID is stored
// under: the same on every run (so a re-run finds it), and holding a
// digest of the message so that two files that happen to share a
// UIDVALIDITY do not share names.
func mboxBase(validity uint32, m mboxMsg) string {
	sum := sha256.Sum256(m.msg)
	return fmt.Sprintf("mbox.V%d.U%d.%s", validity, m.uid, hex.EncodeToString(sum[:6]))
}

// importMboxFolder copies one mbox file into mailbox f.Mailbox, keeping
// Dovecot's UIDVALIDITY and UIDs when the mailbox has none of its own yet.
func (mi *MaildirImporter) importMboxFolder(im *store.Importer, f MaildirFolder) (FolderResult, error) {
	res := FolderResult{Mailbox: f.Mailbox}
	mailbox, dst, err := im.Mailbox(f.Mailbox)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
		if store.IsPermanent(err) {
			return res, nil
		}
		return res, err
	}
	res.Mailbox = mailbox
	if fi, err := os.Stat(f.Dir); err == nil && (fi.Size() == 0 || fi.IsDir()) {
		return res, nil // an empty folder or a directory: created above, nothing to copy
	}
	// The file is read whole first: the UIDs must be beside the messages
	// before the store first indexes them.
	var msgs []mboxMsg
	readErr := readMbox(f.Dir, func(raw []byte, date time.Time) error {
		m := mboxMessage(raw)
		m.date = date
		msgs = append(msgs, m)
		return nil
	})
	ul := mboxUIDList(msgs)
	if len(msgs) > 0 && msgs[0].pseudo {
		msgs = msgs[1:]
	}
	res.Source = len(msgs)
	if ul != nil {
		bases := make([]string, 0, len(ul.UIDs))
		for b := range ul.UIDs {
			bases = append(bases, b)
		}
		if res.UIDsKept, err = store.MergeUIDList(dst, ul, bases); err != nil {
			return res, fmt.Errorf("%s: dovecot-uidlist: %w", mailbox, err)
		}
	}
	for i, m := range msgs {
		where := fmt.Sprintf("%s message %d", f.Dir, i+1)
		if err := mi.importMboxMessage(im, mailbox, dst, where, m, ul, &res); err != nil {
			return res, err
		}
	}
	if readErr != nil {
		res.Failed++
		res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", f.Dir, readErr))
	}
	return res, nil
}

// importMboxMessage stores one message of an mbox, under its mboxBase
// name when ul gives it a UID; only an error that should stop the whole
// import (not a bad message) is returned.
func (mi *MaildirImporter) importMboxMessage(im *store.Importer, mailbox, dst, where string, m mboxMsg, ul *store.UIDList, res *FolderResult) error {
	flags := m.flags
	if len(m.keywords) > 0 {
		to, err := store.KeywordLetters(dst, m.keywords)
		if err != nil {
			return fmt.Errorf("%s: %w", mailbox, err)
		}
		for _, k := range m.keywords {
			if l, ok := to[k]; ok {
				flags += string(l)
			}
		}
		flags = store.CleanFlags(flags)
	}
	var stored bool
	var err error
	if ul != nil && m.uid != 0 {
		stored, err = im.ImportNamed(mailbox, mboxBase(ul.Validity, m), m.msg, flags, m.date)
	} else {
		stored, err = im.Import(mailbox, m.msg, flags, m.date)
	}
	switch {
	case err != nil && store.IsPermanent(err):
		res.Failed++
		res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", where, err))
	case err != nil:
		return fmt.Errorf("%s: %w", mailbox, err)
	case stored:
		res.Imported++
		res.Bytes += int64(len(m.msg))
	default:
		res.Already++
	}
	if mi.Progress != nil {
		mi.Progress(int64(len(m.msg)))
	}
	return nil
}

// mboxUserFolders lists an mbox user's folders: the tree, and INBOX
// from the spool file when there is one.
func mboxUserFolders(u MaildirUser) ([]MaildirFolder, error) {
	folders, err := MboxFolders(u.Mbox)
	if err != nil {
		return nil, err
	}
	if u.Inbox != "" {
		if _, err := os.Stat(u.Inbox); err == nil {
			folders = append([]MaildirFolder{{Mailbox: store.Inbox, Dir: u.Inbox}}, folders...)
		}
	}
	return folders, nil
}

// IsDovecotMbox reports whether path is an mbox file Dovecot wrote: its
// first message holds X-IMAPbase, X-IMAP or X-UID. Such a file does not
// quote body lines starting "From " (Dovecot trusts Content-Length), so
// it must be split by ImportMboxFile, not by a generic mbox reader.
func IsDovecotMbox(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("From ")) {
		return false
	}
	_, head, _ = bytes.Cut(head, []byte("\n"))
	if end := bytes.Index(head, []byte("\n\n")); end >= 0 {
		head = head[:end+1]
	}
	for _, line := range bytes.Split(head, []byte("\n")) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		switch k := textproto.CanonicalMIMEHeaderKey(string(name)); {
		case !ok:
		case k == "X-Imapbase", k == "X-Imap", k == "X-Uid":
			return true
		}
	}
	return false
}

// ImportMboxFile copies one Dovecot mbox file into mailbox as `import
// maildir` does a folder of an mbox home: split by Content-Length, hidden
// headers dropped, flags, keywords and (for a mailbox sluice has not
// indexed yet) UIDVALIDITY and UIDs kept.
func (mi *MaildirImporter) ImportMboxFile(im *store.Importer, path, mailbox string) (FolderResult, error) {
	return mi.importMboxFolder(im, MaildirFolder{Mailbox: mailbox, Dir: path})
}
