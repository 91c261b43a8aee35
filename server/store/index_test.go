package store

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func msg(i int) []byte {
	return []byte(fmt.Sprintf("From: Sender %d <s%d@example.net>\r\nTo: alice@example.org\r\nSubject: message %d\r\nMessage-ID: <%d@example.net>\r\n\r\nbody %d\r\n", i, i, i, i, i))
}

type snapshot struct {
	validity uint32
	uids     []uint32
	flags    []string
	keywords []string
}

func snap(t *testing.T, m *Mailbox) snapshot {
	t.Helper()
	var s snapshot
	st, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	s.validity = st.UIDValidity
	m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			s.uids = append(s.uids, msg.UID)
			s.flags = append(s.flags, msg.Flags)
			s.keywords = append(s.keywords, strings.Join(msg.Keywords, " "))
		}
		return nil
	})
	return s
}

// logBuf collects log output safely from several goroutines.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var testLog = &logBuf{}

func reopen(t *testing.T, s *Store, data string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(data, Options{Hostname: "testhost", Logger: slog.New(slog.NewTextHandler(testLog, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

func inbox(t testing.TB, s *Store, user string) *Mailbox {
	t.Helper()
	a, err := s.Account(user)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Mailbox("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIndexPersistsAndRebuilds(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "alice@example.org"
	for i := 1; i <= 3; i++ {
		if err := s.Deliver(user, "INBOX", msg(i), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	m := inbox(t, s, user)
	if _, _, err := m.Append(msg(4), []string{`\Seen`, "$Important", "Work"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetFlags([]uint32{1, 2}, '+', []string{`\Flagged`, `\Answered`}, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.SetFlags([]uint32{2}, '-', []string{`\Answered`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Expunge(nil); err != nil { // nothing is \Deleted
		t.Fatal(err)
	}
	if err := m.SetFlags([]uint32{3}, '+', []string{`\Deleted`}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Expunge(nil); err != nil || len(got) != 1 || got[0] != 3 {
		t.Fatalf("Expunge = %v, %v", got, err)
	}
	before := snap(t, m)
	want := snapshot{validity: before.validity, uids: []uint32{1, 2, 4}, flags: []string{"FR", "F", "S"}, keywords: []string{"", "", "$Important Work"}}
	if fmt.Sprint(before) != fmt.Sprint(want) {
		t.Fatalf("state %v, want %v", before, want)
	}

	// A restart keeps everything, and a UID is never given again.
	s = reopen(t, s, data)
	m = inbox(t, s, user)
	if after := snap(t, m); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after restart %v, want %v", after, before)
	}
	if err := s.Deliver(user, "INBOX", msg(5), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	if after := snap(t, m); after.uids[len(after.uids)-1] != 5 {
		t.Fatalf("new message got UID %v, want 5", after.uids)
	}

	// Deleting the index rebuilds it: new UIDVALIDITY, every message there
	// with its flags (keywords live only in the index).
	s.Close()
	time.Sleep(1100 * time.Millisecond) // UIDVALIDITY is time-based
	indexPath := filepath.Join(data, "mail", "example.org", "alice", IndexFile)
	if err := os.Remove(indexPath); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, data)
	m = inbox(t, s, user)
	rebuilt := snap(t, m)
	if !strings.Contains(testLog.String(), "index missing, rebuilding") {
		t.Errorf("lost index not logged:\n%s", testLog)
	}
	if rebuilt.validity <= before.validity || len(rebuilt.uids) != 4 || fmt.Sprint(rebuilt.flags) != "[FR F S ]" {
		t.Fatalf("rebuilt %v (before %v)", rebuilt, before)
	}

	// A corrupt index is moved aside and rebuilt the same way.
	s.Close()
	time.Sleep(1100 * time.Millisecond)
	if err := os.WriteFile(indexPath, []byte(strings.Repeat("garbage!", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, data)
	m = inbox(t, s, user)
	again := snap(t, m)
	if again.validity <= rebuilt.validity || len(again.uids) != 4 {
		t.Fatalf("after corruption %v (before %v)", again, rebuilt)
	}
	if !strings.Contains(testLog.String(), "index unreadable, rebuilding") {
		t.Errorf("corrupt index not logged:\n%s", testLog)
	}
	aside, _ := filepath.Glob(indexPath + ".broken-*")
	if len(aside) != 1 {
		t.Errorf("broken index not kept aside: %v", aside)
	}
}

func TestOutsideChangesAreSeen(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "bob@example.org"
	s.Deliver(user, "INBOX", msg(1), "", time.Time{})
	m := inbox(t, s, user)
	dir := filepath.Join(data, "mail", "example.org", "bob")

	// A file copied in by hand (a migration) and a flag changed by mutt.
	if err := os.WriteFile(filepath.Join(dir, "cur", "1700000000.handmade.host:2,S"), msg(2), 0o600); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadDir(filepath.Join(dir, "cur"))
	for _, e := range cur {
		if !strings.Contains(e.Name(), "handmade") {
			os.Rename(filepath.Join(dir, "cur", e.Name()), filepath.Join(dir, "cur", e.Name()+"F"))
		}
	}
	if err := m.Sync(true); err != nil {
		t.Fatal(err)
	}
	got := snap(t, m)
	if fmt.Sprint(got.uids) != "[1 2]" || fmt.Sprint(got.flags) != "[F S]" {
		t.Fatalf("after outside changes: %v", got)
	}
	// A file removed by hand is expunged.
	os.Remove(filepath.Join(dir, "cur", "1700000000.handmade.host:2,S"))
	m.Sync(true)
	if got := snap(t, m); fmt.Sprint(got.uids) != "[1]" {
		t.Fatalf("after removal: %v", got)
	}
	// Deliver is seen without a rescan (the store pokes the mailbox).
	s.Deliver(user, "INBOX", msg(3), "", time.Time{})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := snap(t, m); len(got.uids) == 2 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("delivery not seen")
}

type fakeTrainer struct{ log []string }

func (f *fakeTrainer) Learn(raw []byte, spam bool) error {
	f.log = append(f.log, fmt.Sprintf("learn %v %s", spam, subject(raw)))
	return nil
}

func (f *fakeTrainer) Unlearn(raw []byte, spam bool) error {
	f.log = append(f.log, fmt.Sprintf("unlearn %v %s", spam, subject(raw)))
	return nil
}

func subject(raw []byte) string {
	s := string(raw)
	i := strings.Index(s, "Subject: ")
	return strings.SplitN(s[i+9:], "\r", 2)[0]
}

func TestTransferAndTraining(t *testing.T) {
	tr := &fakeTrainer{}
	s, _ := openTest(t, Options{Hostname: "testhost", Trainer: tr})
	const user = "carol@example.org"
	for i := 1; i <= 3; i++ {
		s.Deliver(user, "INBOX", msg(i), "", time.Time{})
	}
	a, _ := s.Account(user)
	in, _ := a.Mailbox("INBOX")
	junk, _ := a.Mailbox("Junk")
	archive, _ := a.Mailbox("Archive")
	trash, _ := a.Mailbox("Trash")
	in.SetFlags([]uint32{1}, '+', []string{`\Seen`, "Keep"}, nil)

	src, dst, err := in.Transfer(junk, []uint32{1, 2}, true)
	if err != nil || fmt.Sprint(src, dst) != "[1 2] [1 2]" {
		t.Fatalf("move = %v %v %v", src, dst, err)
	}
	if got := snap(t, in); fmt.Sprint(got.uids) != "[3]" {
		t.Fatalf("INBOX after move: %v", got)
	}
	if got := snap(t, junk); fmt.Sprint(got.flags, got.keywords) != "[S ] [Keep ]" {
		t.Fatalf("Junk after move: %v", got)
	}
	// Copying message 1 into Junk again learns nothing more.
	if _, _, err := junk.Transfer(junk, []uint32{1}, false); err != nil {
		t.Fatal(err)
	}
	// Out of Junk: ham (unlearning spam first); to Trash: nothing.
	if _, _, err := junk.Transfer(archive, []uint32{1}, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := junk.Transfer(trash, []uint32{2}, true); err != nil {
		t.Fatal(err)
	}
	// Back into Junk: unlearn ham, learn spam.
	if _, _, err := archive.Transfer(junk, []uint32{1}, false); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"learn true message 1", "learn true message 2",
		"unlearn true message 1", "learn false message 1",
		"unlearn false message 1", "learn true message 1",
	}
	if fmt.Sprint(tr.log) != fmt.Sprint(want) {
		t.Errorf("trainer calls:\n%q\nwant\n%q", tr.log, want)
	}
}

func TestMailboxAdmin(t *testing.T) {
	s, _ := openTest(t, Options{Hostname: "testhost"})
	a, err := s.Account("dave@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Create("Projects.2024.Q1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Create("projects.2024.q1"); err != nil {
		t.Fatal(err) // names are case-sensitive except INBOX
	}
	if err := a.Create("Projects"); err == nil {
		t.Fatal("Create of an existing parent succeeded")
	}
	m, _ := a.Mailbox("Projects.2024")
	m.Append(msg(1), nil, time.Time{})
	before := snap(t, m)
	if err := a.Rename("Projects", "Work"); err != nil {
		t.Fatal(err)
	}
	list, _ := a.List()
	if got := strings.Join(list, ","); got != "INBOX,Archive,Drafts,Junk,Sent,Trash,Work,Work.2024,Work.2024.Q1,projects,projects.2024,projects.2024.q1" {
		t.Fatalf("List = %s", got)
	}
	m, _ = a.Mailbox("Work.2024")
	if after := snap(t, m); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("renamed mailbox %v, want %v", after, before)
	}
	if err := a.Delete("Work.2024"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Mailbox("Work.2024"); err == nil {
		t.Error("deleted mailbox still opens")
	}
	if err := a.Delete("INBOX"); err == nil {
		t.Error("INBOX deleted")
	}
	for _, bad := range []string{"../bob", "Work/../../x", "..", "a..b"} {
		if err := a.Create(bad); err == nil {
			t.Errorf("Create(%q) succeeded", bad)
		}
	}
	a.SetSubscribed("Work", true)
	a.SetSubscribed("Gone", true)
	a.SetSubscribed("Gone", false)
	if subs, _ := a.Subscriptions(); fmt.Sprint(subs) != "map[Archive:true Drafts:true INBOX:true Junk:true Sent:true Trash:true Work:true]" { // the standard ones from the first open
		t.Errorf("subscriptions %v", subs)
	}
}

// TestRestartKeepsModSeq: reopening a mailbox whose flags did not change
// rewrites nothing: HIGHESTMODSEQ stays.
func TestRestartKeepsModSeq(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "erin@example.org"
	for i := 1; i <= 3; i++ {
		s.Deliver(user, "INBOX", msg(i), "", time.Time{})
	}
	m := inbox(t, s, user)
	m.SetFlags([]uint32{1, 2}, '+', []string{`\Seen`}, nil)
	before, _ := m.Status()
	s = reopen(t, s, data)
	after, _ := inbox(t, s, user).Status()
	if after.HighestModSeq != before.HighestModSeq {
		t.Errorf("HIGHESTMODSEQ %d after restart, was %d", after.HighestModSeq, before.HighestModSeq)
	}
}

// TestDovecotKeywords: a Maildir copied from Dovecot keeps its keywords,
// which Dovecot writes as letters a-z named in dovecot-keywords.
func TestDovecotKeywords(t *testing.T) {
	s, data := openTest(t, Options{Hostname: "testhost"})
	const user = "heidi@example.org"
	if err := s.EnsureUser(user); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, "mail", "example.org", "heidi")
	os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte("0 $Label1\n1 Work\n2 bad keyword(\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "cur", "1700000000.M1P1.old,S=20,W=21:2,Sab"), msg(1), 0o600)
	got := snap(t, inbox(t, s, user))
	if fmt.Sprint(got.flags, got.keywords) != "[Sab] [$Label1 Work]" {
		t.Errorf("flags and keywords %v %v", got.flags, got.keywords)
	}
}
