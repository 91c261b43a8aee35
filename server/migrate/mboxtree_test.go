package migrate

import (
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// dovecotMbox is a folder as Dovecot 2.3.19.1's mbox driver wrote it
// (two IMAP APPENDs, the file copied here): X-IMAPbase (UIDVALIDITY, next
// UID, keywords) in the first message, Status, X-Status, padded
// X-Keywords, X-UID and Content-Length in each, a blank line after each,
// and a body line starting "From " left unquoted, since Dovecot trusts
// Content-Length. The second message is edited to differ.
const dovecotMbox = "From bob@vm  Sun Jan 05 09:11:12 2020\n" +
	"From: a@example.net\nSubject: first\nMessage-ID: <x@y>\n" +
	"X-IMAPbase: 1796484551 0000000002 $Label1 Projekt\nX-UID: 1\nStatus: RO\nX-Status: AF\n" +
	"X-Keywords: $Label1 Projekt                                                       \nContent-Length: 19\n" +
	"\nFrom the body\nline\n\n" +
	"From bob@vm  Sat Dec 05 15:29:10 2026\n" +
	"From: a@example.net\nSubject: second,\n continued\nX-UID: 2\nStatus: O\nX-Status: T\n" +
	"X-Keywords:                                                       \nContent-Length: 25\n" +
	"\nFrom the body\nbody2\nmore\n\n"

const dovecotPseudo = "From MAILER_DAEMON  Sat Dec 05 18:35:25 2026\n" +
	"Date: Sat, 05 Dec 2026 18:35:25 +0000\nFrom: Mail System Internal Data <MAILER-DAEMON@vm>\n" +
	"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nMessage-ID: <1765@vm>\n" +
	"X-IMAP: 1700000000 0000000006\nStatus: RO\n\n" +
	"This text is part of the internal format of your mail folder, and is not\na real message.\n\n"

// TestImportMboxHome: a home that keeps its mail as Dovecot mbox files
// (mail_location = mbox:~/mail:INBOX=/var/mail/%u) is found beside a
// Maildir home, and its folders and spool INBOX are imported with the
// flags and keywords of Status, X-Status and X-Keywords, without the
// headers Dovecot hides from IMAP; a second run copies nothing.
func TestImportMboxHome(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"alice/Maildir/cur", "alice/Maildir/new", "bob/mail/Lists", "bob/mail/.imap", "bob/mail/Projekte/2027", "dave"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "bob/mail/Lists/Go"), []byte(dovecotMbox), 0o600)
	os.WriteFile(filepath.Join(root, "bob/mail/Sent"), nil, 0o600) // an empty folder
	// A folder whose X-IMAP is in Dovecot's pseudo message (the form
	// mbox-sync.c writes when no real message holds the header).
	os.WriteFile(filepath.Join(root, "bob/mail/Drafts"), []byte(dovecotPseudo+
		"From bob@vm  Sat Dec 05 15:29:10 2026\nSubject: draft\nX-UID: 5\nStatus: O\nX-Status: T\n\nx\n\n"), 0o600)
	os.WriteFile(filepath.Join(root, "bob/mail/.subscriptions"), []byte("From the index\n"), 0o600)
	spool := filepath.Join(t.TempDir(), "bob")
	// The spool INBOX: other UIDs, with a gap, and a stale UIDNEXT.
	inbox := strings.NewReplacer("<x@", "<inbox1@", "X-IMAPbase: 1796484551", "X-IMAPbase: 1600000000",
		"X-UID: 1\n", "X-UID: 7\n", "X-UID: 2\n", "X-UID: 12\n").Replace(dovecotMbox)
	os.WriteFile(spool, []byte(inbox), 0o600)
	users, err := FindMaildirUsers(root, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Address != "alice@example.org" || users[1].Mbox != filepath.Join(root, "bob/mail") {
		t.Fatalf("users = %+v, want alice (Maildir) and bob (mbox)", users)
	}
	bob := users[1]
	bob.Inbox = spool
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mi := &MaildirImporter{Store: st}
	res, err := mi.ImportUser(bob)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]FolderResult{}
	for _, f := range res.Folders {
		got[f.Mailbox] = f
	}
	for name, n := range map[string]int{"INBOX": 2, "Lists.Go": 2, "Sent": 0, "Drafts": 1, "Lists": 0, "Projekte": 0, "Projekte.2027": 0} {
		if f, ok := got[name]; !ok || f.Source != n || f.Imported != n || !f.Complete() {
			t.Errorf("%s: %+v, want %d imported", name, f, n)
		}
	}
	dir, _ := st.MailboxDir("bob@example.org", "Lists.Go")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	sort.Strings(files)
	var flags []string
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for _, h := range []string{"X-IMAPbase", "Status:", "X-Status", "X-Keywords", "X-UID", "Content-Length"} {
			if strings.Contains(string(raw), h) {
				t.Errorf("%s kept the hidden header %s:\n%s", f, h, raw)
			}
		}
		if strings.HasSuffix(string(raw), "\n\n") {
			t.Errorf("%s kept the separator line: %q", f, raw)
		}
		_, fl, _ := strings.Cut(filepath.Base(f), ":2,")
		flags = append(flags, fl)
		if strings.Contains(string(raw), "body2") && string(raw) != "From: a@example.net\nSubject: second,\n continued\n\nFrom the body\nbody2\nmore\n" {
			t.Errorf("second message: %q", raw)
		}
	}
	kw := store.ReadDovecotKeywords(dir)
	sort.Strings(flags)
	if len(flags) != 2 || flags[0] != "D" || len(flags[1]) != 5 || !strings.HasPrefix(flags[1], "FRS") {
		t.Errorf("flags = %q, want D and FRS + two keyword letters", flags)
	}
	if len(kw) != 2 {
		t.Errorf("keywords = %v, want $Label1 and Projekt", kw)
	}
	// Dovecot's UIDVALIDITY and UIDs are the store's, so clients keep
	// their caches; a new message comes after the old UIDNEXT.
	if err := st.Deliver("bob@example.org", "INBOX", []byte("Subject: new\r\n\r\nx\r\n"), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	acct, err := st.Account("bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"INBOX": "1600000000 [7 12 13]", "Lists.Go": "1796484551 [1 2]", "Drafts": "1700000000 [5]"} {
		if !got[name].UIDsKept {
			t.Errorf("%s: UIDsKept false", name)
		}
		m, err := acct.Mailbox(name)
		if err != nil {
			t.Fatal(err)
		}
		stat, err := m.Status()
		if err != nil {
			t.Fatal(err)
		}
		var uids []uint32
		m.View(func(msgs []*store.Message) error {
			for _, msg := range msgs {
				uids = append(uids, msg.UID)
			}
			return nil
		})
		if g := fmt.Sprintf("%d %v", stat.UIDValidity, uids); g != want {
			t.Errorf("%s: UIDVALIDITY and UIDs %s, want %s", name, g, want)
		}
	}
	res, err = mi.ImportUser(bob)
	if err != nil || res.Folders[0].Imported != 0 || res.Folders[0].Already != 2 {
		t.Errorf("second run: %+v %v", res.Folders, err)
	}
}

func FuzzMboxMessage(f *testing.F) {
	f.Add([]byte(dovecotMbox[strings.Index(dovecotMbox, "\n")+1:]))
	f.Add([]byte("Status: RO\n\tfolded\nX-UID: 3\n\nbody\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := mboxMessage(raw)
		msg, flags := m.msg, m.flags
		if len(msg) > len(raw) {
			t.Fatalf("the message grew: %q -> %q", raw, msg)
		}
		if strings.Trim(flags, "DFRST") != "" {
			t.Fatalf("flags %q", flags)
		}
		// What the store gets as a dovecot-uidlist is well formed: a
		// validity, UIDs ascending below UIDNEXT, one name each.
		if ul := mboxUIDList([]mboxMsg{m, m}); ul != nil {
			if ul.Validity == 0 || len(ul.UIDs) != 0 {
				t.Fatalf("uidlist %+v from a message with X-UID %d twice", ul, m.uid)
			}
		}
		if ul := mboxUIDList([]mboxMsg{m}); ul != nil {
			for base, uid := range ul.UIDs {
				if uid != m.uid || uid >= ul.Next || base != mboxBase(ul.Validity, m) {
					t.Fatalf("uidlist %+v for X-UID %d", ul, m.uid)
				}
			}
		}
		head, _, _ := strings.Cut("\n"+string(msg), "\n\n")
		for _, line := range strings.Split(head, "\n") {
			name, _, ok := strings.Cut(line, ":")
			if ok && mboxHidden[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))] && name == strings.TrimSpace(name) {
				t.Fatalf("hidden header %q kept in %q (from %q)", name, msg, raw)
			}
		}
	})
}

func FuzzReadMbox(f *testing.F) {
	f.Add([]byte(dovecotMbox))
	f.Add([]byte("From a  Mon Jan  6 09:00:00 2020\nSubject: x\n\nFrom inside\n\nFrom b  Mon Jan  6 09:00:00 2020\n\nbody\n"))
	f.Add([]byte("From a x\nContent-Length: 99\n\nshort\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "mbox")
		os.WriteFile(path, data, 0o600)
		total := 0
		err := readMbox(path, func(raw []byte, _ time.Time) error {
			total += len(raw)
			return nil
		})
		if err == nil && total > len(data) {
			t.Fatalf("messages hold %d bytes of a %d-byte file", total, len(data))
		}
	})
}

// TestIsDovecotMbox: only a file whose first message carries Dovecot's
// headers is taken for Dovecot's; an X-UID in a later message's body or
// headers does not count.
func TestIsDovecotMbox(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		data string
		want bool
	}{
		"dovecot": {dovecotMbox, true},
		"pseudo":  {dovecotPseudo, true},
		"mboxrd":  {"From a  Mon Jan  6 09:00:00 2020\nSubject: x\n\n>From here\nX-UID: 3\n", false},
		"later":   {"From a  Mon Jan  6 09:00:00 2020\nSubject: x\n\nbody\n\nFrom b  Mon Jan  6 09:00:00 2020\nX-UID: 3\n\nx\n", false},
		"mail":    {"X-UID: 1\nSubject: not an mbox\n\nx\n", false},
		"empty":   {"", false},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(tc.data), 0o600)
		if got := IsDovecotMbox(p); got != tc.want {
			t.Errorf("%s: IsDovecotMbox = %v, want %v", name, got, tc.want)
		}
	}
	if IsDovecotMbox(filepath.Join(dir, "missing")) || IsDovecotMbox(dir) {
		t.Error("a missing file or a directory taken for an mbox")
	}
}
