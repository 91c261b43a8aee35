package deliver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/sieve"
	"github.com/sluicemail/sluice/server/sieve/scripts"
	"github.com/sluicemail/sluice/server/store"
)

const user = "bob@example.com"

// spool records what the deliverer queues: the queue's own tests cover
// the spool; here the question is what is handed to it.
type spool struct {
	mu  sync.Mutex
	put []queued
}

type queued struct {
	env queue.Envelope
	raw string
}

func (s *spool) Put(_ context.Context, env queue.Envelope, raw []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put = append(s.put, queued{env, string(raw)})
	return "id", nil
}

func setup(t *testing.T, script string) (*Deliverer, *store.Store, *spool) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sc := scripts.New(st.UserDir, sieve.Limits{})
	if script != "" {
		if err := sc.Install(user, "main", script); err != nil {
			t.Fatal(err)
		}
	}
	sp := &spool{}
	d := &Deliverer{Store: st, Scripts: sc, Hostname: "mx.example.com"}
	d.SetQueue(sp)
	return d, st, sp
}

// contents lists each message of a mailbox as its flags.
func contents(t *testing.T, st *store.Store, mailbox string) [][]imap.Flag {
	t.Helper()
	acc, err := st.Account(user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := acc.Mailbox(mailbox)
	if err != nil {
		return nil
	}
	mb.Sync(true)
	var out [][]imap.Flag
	mb.View(func(msgs []*store.Message) error {
		for _, m := range msgs {
			out = append(out, m.IMAPFlags())
		}
		return nil
	})
	return out
}

func msg(from, extra string) []byte {
	return []byte("Return-Path: <" + from + ">\r\nFrom: " + from + "\r\nTo: Bob <bob@example.com>\r\n" +
		"Subject: Report\r\nMessage-ID: <m1@example.org>\r\n" + extra + "\r\nbody\r\n")
}

func TestFoldersAndFlags(t *testing.T) {
	d, st, _ := setup(t, `require ["fileinto", "imap4flags", "mailbox"];
if header :contains "subject" "report" { fileinto :create :flags ["\\Flagged", "Work"] "Reports"; }
addflag "\\Seen";
keep;`)
	if err := d.Deliver(user, "INBOX", msg("alice@example.org", ""), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	rep := contents(t, st, "Reports")
	if len(rep) != 1 || !hasFlag(rep[0], `\Flagged`) || !hasFlag(rep[0], "Work") {
		t.Fatalf("Reports: %v", rep)
	}
	inbox := contents(t, st, "INBOX")
	if len(inbox) != 1 || !hasFlag(inbox[0], `\Seen`) {
		t.Fatalf("INBOX: %v", inbox)
	}
}

func hasFlag(fl []imap.Flag, f string) bool {
	for _, x := range fl {
		if strings.EqualFold(string(x), f) {
			return true
		}
	}
	return false
}

// The rules' junk verdict files the implicit keep into Junk; an explicit
// keep or fileinto of the user wins.
func TestJunkVerdict(t *testing.T) {
	d, st, _ := setup(t, `require ["fileinto", "mailbox"];
if header :is "x-mine" "yes" { keep; }
elsif header :is "x-mine" "folder" { fileinto :create "Mine"; }`)
	for _, extra := range []string{"", "X-Mine: yes\r\n", "X-Mine: folder\r\n"} {
		if err := d.Deliver(user, store.Junk, msg("a@example.org", extra), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(contents(t, st, store.Junk)); n != 1 {
		t.Errorf("Junk holds %d, want the one the script left to the implicit keep", n)
	}
	if n := len(contents(t, st, "INBOX")); n != 1 {
		t.Errorf("INBOX holds %d, want the explicitly kept one", n)
	}
	if n := len(contents(t, st, "Mine")); n != 1 {
		t.Errorf("Mine holds %d", n)
	}
}

func TestNoScriptDeliversAsAsked(t *testing.T) {
	d, st, _ := setup(t, "")
	if err := d.Deliver(user, store.Junk, msg("a@example.org", ""), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := len(contents(t, st, store.Junk)); n != 1 {
		t.Fatalf("Junk holds %d", n)
	}
}

func TestRedirectAndReject(t *testing.T) {
	d, st, sp := setup(t, `require "reject";
if header :is "x-kind" "fwd" { redirect "carol@example.net"; }
elsif header :is "x-kind" "no" { reject "not wanted"; }`)
	d.Deliver(user, "INBOX", msg("alice@example.org", "X-Kind: fwd\r\n"), "", time.Time{})
	// The same message again (a retried delivery, a loop): not sent twice.
	d.Deliver(user, "INBOX", msg("alice@example.org", "X-Kind: fwd\r\n"), "", time.Time{})
	d.Deliver(user, "INBOX", msg("alice@example.org", "X-Kind: no\r\n"), "", time.Time{})
	if n := len(contents(t, st, "INBOX")); n != 0 {
		t.Fatalf("INBOX holds %d, want nothing", n)
	}
	if len(sp.put) != 2 {
		t.Fatalf("queued %d, want the redirect and the notice", len(sp.put))
	}
	fwd := sp.put[0]
	if fwd.env.From != "alice@example.org" || fwd.env.Rcpt[0].Addr != "carol@example.net" || strings.HasPrefix(fwd.raw, "Return-Path") {
		t.Errorf("redirect: %+v %q", fwd.env, fwd.raw[:40])
	}
	rej := sp.put[1]
	if rej.env.From != "" || rej.env.Rcpt[0].Addr != "alice@example.org" || !strings.Contains(rej.raw, "not wanted") {
		t.Errorf("rejection notice: %+v", rej.env)
	}
}

func TestVacation(t *testing.T) {
	d, st, sp := setup(t, `require "vacation";
vacation :days 2 :subject "Away" :addresses "bob.alias@example.com" "I am away.";`)
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }
	send := func(from, extra string) {
		t.Helper()
		if err := d.Deliver(user, "INBOX", msg(from, extra), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	send("alice@example.org", "")
	send("alice@example.org", "") // within :days: no second reply
	send("list@example.org", "List-Id: <l.example.org>\r\n")
	send("robot@example.org", "Auto-Submitted: auto-generated\r\n")
	send("bulk@example.org", "Precedence: bulk\r\n")
	send("", "")
	send("MAILER-DAEMON@example.org", "")
	if len(sp.put) != 1 {
		t.Fatalf("%d replies, want 1: %+v", len(sp.put), sp.put)
	}
	r := sp.put[0]
	for _, want := range []string{"Auto-Submitted: auto-replied", "Subject: Away", "In-Reply-To: <m1@example.org>", "To: <alice@example.org>", "I am away."} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("reply lacks %q:\n%s", want, r.raw)
		}
	}
	if r.env.From != "" {
		t.Errorf("reply sent from <%s>, want the null sender", r.env.From)
	}
	now = now.Add(49 * time.Hour)
	send("alice@example.org", "")
	if len(sp.put) != 2 {
		t.Fatalf("after the period: %d replies, want 2", len(sp.put))
	}
	if n := len(contents(t, st, "INBOX")); n != 8 {
		t.Errorf("INBOX holds %d, want every message kept", n)
	}
}

// editheader's changes reach the stored copy; the fields it may not
// delete stay.
func TestEditheaderStored(t *testing.T) {
	d, st, _ := setup(t, `require ["editheader", "fileinto", "mailbox"];
addheader "X-Filtered" "by bob";
deleteheader "subject";
deleteheader "received";
fileinto :create "Edited";`)
	raw := msg("a@example.org", "Received: from x by y; Fri, 4 Dec 2026 10:00:00 +0000\r\n")
	if err := d.Deliver(user, "INBOX", raw, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	dir, _ := st.MailboxDir(user, "Edited")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	if len(files) != 1 {
		t.Fatalf("Edited holds %d files", len(files))
	}
	data, _ := os.ReadFile(files[0])
	got := string(data)
	if !strings.HasPrefix(got, "X-Filtered: by bob\r\n") || strings.Contains(got, "Subject:") || !strings.Contains(got, "Received: from x") || !strings.HasSuffix(got, "\r\n\r\nbody\r\n") {
		t.Errorf("stored message:\n%s", got)
	}
}

// spamtest sees the score and Bayes probability the SMTP session wrote.
func TestSpamtest(t *testing.T) {
	d, st, _ := setup(t, `require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric", "mailbox"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "8" { fileinto :create "Spam"; }
elsif spamtest :is "0" { fileinto :create "Untested"; }`)
	for _, extra := range []string{"X-Sluice-Spam: score=2; bayes=0.990\r\n", "X-Sluice-Spam: score=1\r\n", ""} {
		if err := d.Deliver(user, "INBOX", msg("a@example.org", extra), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for box, want := range map[string]int{"Spam": 1, "Untested": 1, "INBOX": 1} {
		if n := len(contents(t, st, box)); n != want {
			t.Errorf("%s holds %d, want %d", box, n, want)
		}
	}
}

// A folder the store cannot hold keeps the message in INBOX rather than
// bouncing it.
func TestBadFolderKeeps(t *testing.T) {
	d, st, _ := setup(t, `require "fileinto"; fileinto "Lists/Go";`)
	if err := d.Deliver(user, "INBOX", msg("a@example.org", ""), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := len(contents(t, st, "INBOX")); n != 1 {
		t.Fatalf("INBOX holds %d", n)
	}
}

// fileinto a folder that is not there keeps the message in INBOX, as
// Pigeonhole does; with :create the folder is made and subscribed.
func TestMissingFolder(t *testing.T) {
	d, st, _ := setup(t, `require ["fileinto", "mailbox"];
if header :is "x-kind" "create" { fileinto :create "Made"; } else { fileinto "Gone"; }`)
	d.Deliver(user, "INBOX", msg("a@example.org", ""), "", time.Time{})
	d.Deliver(user, "INBOX", msg("a@example.org", "X-Kind: create\r\n"), "", time.Time{})
	if n := len(contents(t, st, "INBOX")); n != 1 {
		t.Errorf("INBOX holds %d, want the message for the missing folder", n)
	}
	if n := len(contents(t, st, "Made")); n != 1 {
		t.Errorf("Made holds %d", n)
	}
	acc, _ := st.Account(user)
	if subs, _ := acc.Subscriptions(); !subs["Made"] {
		t.Errorf("the created folder is not subscribed: %v", subs)
	}
}
