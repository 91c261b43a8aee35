package migrate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sluicemail/sluice/server/migrate/dovecottest"
	"github.com/sluicemail/sluice/server/store"
)

// dovecotSource fills a Dovecot Maildir for u@example.org through
// Dovecot itself (folder -> messages, in order), serves it on loopback
// with the password "pw", and returns its home and the source URL.
func dovecotSource(t *testing.T, folders map[string][]string, settings ...string) (home, url string) {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "vmail")
	home = filepath.Join(root, "example.org", "u")
	c := dovecottest.Session(t, home, "u@example.org")
	date := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for folder, msgs := range folders {
		if folder != "INBOX" {
			if err := c.Create(folder, nil).Wait(); err != nil {
				t.Fatal(err)
			}
		}
		for _, raw := range msgs {
			if err := dovecottest.Append(c, folder, raw, date); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.Close()
	pw := filepath.Join(dir, "passwd")
	os.WriteFile(pw, []byte("u@example.org:{PLAIN}pw\n"), 0o644)
	return home, "imap://u@example.org@" + dovecottest.StartServer(t, root, pw, settings...)
}

// importOnce runs one IMAP import of u@example.org into st.
func importOnce(t *testing.T, st *store.Store, url string, total func(int, int64)) ([]FolderResult, error) {
	t.Helper()
	c, src, err := IMAPSource{URL: url, Password: "pw", Insecure: true}.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ii := &IMAPImporter{Store: st, User: "u@example.org", Source: src, Total: total}
	return ii.Run(c)
}

// TestIMAPImportSourceExpungesMeanwhile: the old server is live, and a
// user deletes a message there after the import listed the folder but
// before it fetched that message. That message is counted as not
// copied, with the reason, and the import goes on with the rest of the
// folder and the other folders instead of stopping.
func TestIMAPImportSourceExpungesMeanwhile(t *testing.T) {
	msg := func(n int) string {
		return "From: a@example.net\r\nMessage-ID: <" + string(rune('0'+n)) + "@example.net>\r\nSubject: " + string(rune('0'+n)) + "\r\n\r\nbody\r\n"
	}
	home, url := dovecotSource(t, map[string][]string{
		"INBOX": {msg(1), msg(2), msg(3)},
		"Other": {msg(4)},
	})
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first := true
	res, err := importOnce(t, st, url, func(int, int64) {
		if !first {
			return
		}
		first = false // INBOX, listed and not yet copied: delete UID 2 there
		c := dovecottest.Session(t, home, "u@example.org")
		defer c.Close()
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatalf("the import stopped: %v (%+v)", err, res)
	}
	if len(res) != 2 || res[0].Mailbox != "INBOX" || res[0].Imported != 2 || res[0].Failed != 1 || res[0].Complete() ||
		len(res[0].Errors) != 1 || !strings.Contains(res[0].Errors[0], "UID 2") || res[1].Imported != 1 || !res[1].Complete() {
		t.Fatalf("results: %+v", res)
	}
	// The checkpoint's last UID stays below the message not copied: a
	// message without a Message-ID at or below it is taken as copied.
	userDir, _ := st.UserDir("u@example.org")
	data, err := os.ReadFile(filepath.Join(userDir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		t.Fatal(err)
	}
	if len(cp.Src) != 1 {
		t.Fatalf("checkpoint: %s", data)
	}
	for _, marks := range cp.Src {
		if m := marks["INBOX"]; m.LastUID != 1 {
			t.Errorf("INBOX checkpoint %+v: last UID passed UID 2, which was not copied", m)
		}
	}
	// A second run finds the folder complete: the message is gone.
	res, err = importOnce(t, st, url, nil)
	if err != nil || len(res) != 2 || !res[0].Complete() || res[0].Source != 2 || res[0].Imported != 0 || !res[1].Complete() {
		t.Fatalf("second run: %+v %v", res, err)
	}
}

// TestIMAPImportVerify: --verify copies nothing and finds a folder
// incomplete exactly when the source has a message sluice has not.
func TestIMAPImportVerify(t *testing.T) {
	home, url := dovecotSource(t, map[string][]string{
		"INBOX":    {"From: a@example.net\r\nMessage-ID: <1@example.net>\r\n\r\none\r\n", "From: a@example.net\r\nSubject: no id\r\n\r\ntwo\r\n"},
		"Entwürfe": {"From: a@example.net\r\nSubject: no id either\r\n\r\nthree\r\n"},
	})
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	verify := func() []FolderResult {
		t.Helper()
		c, src, err := IMAPSource{URL: url, Password: "pw", Insecure: true}.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		res, err := (&IMAPImporter{Store: st, User: "u@example.org", Source: src, Verify: true}).Run(c)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	count := func() int {
		n := 0
		for _, mb := range []string{"INBOX", "Entwürfe"} {
			dir, err := st.MailboxDir("u@example.org", mb)
			if err != nil {
				continue
			}
			for _, sub := range []string{"cur", "new"} {
				e, _ := os.ReadDir(filepath.Join(dir, sub))
				n += len(e)
			}
		}
		return n
	}
	if res := verify(); len(res) != 2 || res[0].Complete() || res[1].Complete() || count() != 0 {
		t.Fatalf("verify before any import: %+v, %d messages in sluice", res, count())
	}
	if _, err := importOnce(t, st, url, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range verify() {
		if !f.Complete() || f.Source == 0 {
			t.Errorf("verify after the import: %+v", f)
		}
	}
	c := dovecottest.Session(t, home, "u@example.org")
	if err := dovecottest.Append(c, "INBOX", "From: a@example.net\r\nSubject: new, no id\r\n\r\nfour\r\n", time.Now()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	res := map[string]FolderResult{}
	for _, f := range verify() {
		res[f.Mailbox] = f
	}
	if in := res["INBOX"]; in.Complete() || in.Source != 3 || in.Already != 2 || !res["Entwürfe"].Complete() || count() != 3 {
		t.Errorf("verify after a new message on the source: %+v, %d messages in sluice", res, count())
	}
}

// TestIMAPImportUIDValidityChange: the old server renumbers a folder (it
// was recreated, or its index rebuilt: a new UIDVALIDITY, new UIDs).
// A re-run copies nothing again, with or without a Message-ID, and a
// message new since then is copied once.
func TestIMAPImportUIDValidityChange(t *testing.T) {
	msgs := []string{"From: a@example.net\r\nMessage-ID: <1@example.net>\r\n\r\none\r\n", "From: a@example.net\r\nSubject: no id\r\n\r\ntwo\r\n"}
	home, url := dovecotSource(t, map[string][]string{"Work": msgs})
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := importOnce(t, st, url, nil); err != nil || res[len(res)-1].Mailbox != "Work" || res[len(res)-1].Imported != 2 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	c := dovecottest.Session(t, home, "u@example.org")
	before, err := c.Select("Work", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	c.Unselect().Wait()
	if err := c.Delete("Work").Wait(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // Dovecot's UIDVALIDITY is the creation time in seconds
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, raw := range append(msgs, "From: a@example.net\r\nSubject: new, no id\r\n\r\nthree\r\n") {
		if err := dovecottest.Append(c, "Work", raw, date); err != nil {
			t.Fatal(err)
		}
	}
	after, err := c.Select("Work", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if after.UIDValidity == before.UIDValidity {
		t.Fatalf("Dovecot kept UIDVALIDITY %d", after.UIDValidity)
	}
	res, err := importOnce(t, st, url, nil)
	if w := res[len(res)-1]; err != nil || w.Mailbox != "Work" || w.Source != 3 || w.Imported != 1 || w.Already != 2 || !w.Complete() {
		t.Fatalf("after the renumbering: %+v %v", res, err)
	}
	dir, _ := st.MailboxDir("u@example.org", "Work")
	cur, _ := os.ReadDir(filepath.Join(dir, "cur"))
	nw, _ := os.ReadDir(filepath.Join(dir, "new"))
	if len(cur)+len(nw) != 3 {
		t.Errorf("%d messages in sluice's Work, want 3", len(cur)+len(nw))
	}
}

// unreadable makes the message files of dir (a Maildir folder) holding
// text unreadable for Dovecot, which runs as another user than root, or
// readable again; it returns how many it changed.
func unreadable(t *testing.T, dir, text string, mode os.FileMode) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"cur", "new"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			p := filepath.Join(dir, sub, e.Name())
			if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), text) {
				if err := os.Chmod(p, mode); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
	}
	return n
}

// TestIMAPImportSourceRefusesMessage: the source answers NO for one
// message, which has no Message-ID, after the folder was listed (Dovecot
// with imap_fetch_failure = no-after cannot read its file). It is named
// as not copied, the next message is copied, and once the source serves
// it again a re-run copies it: it is not taken for copied because a later
// message was.
func TestIMAPImportSourceRefusesMessage(t *testing.T) {
	home, url := dovecotSource(t, map[string][]string{"INBOX": {
		"From: a@example.net\r\nMessage-ID: <1@example.net>\r\n\r\none\r\n",
		"From: a@example.net\r\nSubject: no id\r\n\r\nsecond message\r\n",
		"From: a@example.net\r\nMessage-ID: <3@example.net>\r\n\r\nthree\r\n",
	}}, "imap_fetch_failure = no-after")
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := importOnce(t, st, url, func(int, int64) {
		if unreadable(t, home, "second message", 0) != 1 {
			t.Fatal("the message file was not found")
		}
	})
	unreadable(t, home, "second message", 0o600)
	if err != nil || len(res) != 1 || res[0].Imported != 2 || res[0].Failed != 1 || len(res[0].Errors) != 1 ||
		!strings.Contains(res[0].Errors[0], "UID 2: the source refused it") {
		t.Fatalf("first run: %+v %v", res, err)
	}
	res, err = importOnce(t, st, url, nil)
	if err != nil || len(res) != 1 || res[0].Imported != 1 || res[0].Already != 2 || !res[0].Complete() {
		t.Fatalf("second run, the message readable again: %+v %v", res, err)
	}
}

// TestIMAPImportSourceCannotListMessage: the source answers NO to the
// FETCH that lists a folder (Dovecot with imap_fetch_failure = no-after
// cannot read one file). The messages it did list are copied, the folder
// is named incomplete with the reason, and the other folders go on
// instead of the whole import stopping; once the source reads the file
// again a re-run completes the folder.
func TestIMAPImportSourceCannotListMessage(t *testing.T) {
	home, url := dovecotSource(t, map[string][]string{
		"INBOX": {
			"From: a@example.net\r\nMessage-ID: <1@example.net>\r\n\r\none\r\n",
			"From: a@example.net\r\nMessage-ID: <2@example.net>\r\n\r\nsecond message\r\n",
			"From: a@example.net\r\nSubject: no id\r\n\r\nthree\r\n",
		},
		"Other": {"From: a@example.net\r\nMessage-ID: <4@example.net>\r\n\r\nfour\r\n"},
	}, "imap_fetch_failure = no-after")
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if unreadable(t, home, "second message", 0) != 1 {
		t.Fatal("the message file was not found")
	}
	res, err := importOnce(t, st, url, nil)
	unreadable(t, home, "second message", 0o600)
	if err != nil || len(res) != 2 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	if in := res[0]; in.Mailbox != "INBOX" || in.Source != 3 || in.Imported != 2 || in.Failed != 1 || in.Complete() || len(in.Errors) == 0 {
		t.Errorf("INBOX: %+v", in)
	}
	if o := res[1]; o.Mailbox != "Other" || o.Imported != 1 || !o.Complete() {
		t.Errorf("Other: %+v", o)
	}
	res, err = importOnce(t, st, url, nil)
	if err != nil || len(res) != 2 || res[0].Imported != 1 || res[0].Already != 2 || !res[0].Complete() || !res[1].Complete() {
		t.Fatalf("second run, the message readable again: %+v %v", res, err)
	}
}

// TestIMAPImportNamespacePrefix: on a source whose personal namespace has
// the prefix "INBOX." (Courier, Cyrus, a Dovecot set up like them) every
// folder is listed as a child of INBOX; its mail clients hide the prefix,
// and so does the import: "INBOX.Work" becomes sluice's top-level "Work"
// (and "INBOX.Work.2024" its "Work.2024"), not a folder inside INBOX.
func TestIMAPImportNamespacePrefix(t *testing.T) {
	msg := "From: a@example.net\r\nMessage-ID: <%s@example.net>\r\n\r\nbody\r\n"
	_, url := dovecotSource(t, map[string][]string{
		"INBOX":     {strings.Replace(msg, "%s", "1", 1)},
		"Work":      {strings.Replace(msg, "%s", "2", 1)},
		"Work.2024": {strings.Replace(msg, "%s", "3", 1)},
	}, "namespace inbox {\n  prefix = INBOX.\n}")
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := importOnce(t, st, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range res {
		got[f.Mailbox] = f.Imported
	}
	want := map[string]int{"INBOX": 1, "Work": 1, "Work.2024": 1}
	for mb, n := range want {
		if got[mb] != n {
			t.Errorf("imported %v, want %v", got, want)
			break
		}
	}
	for _, mb := range []string{"Work", "Work.2024"} {
		if _, err := st.MailboxDir("u@example.org", mb); err != nil {
			t.Errorf("sluice has no mailbox %q: %v", mb, err)
		}
	}
}
