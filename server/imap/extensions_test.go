package imap

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// sortMessages is a small conversation for SORT and THREAD: a question,
// a reply, a reply to that reply linked by References only (with its own
// subject), another one linked by In-Reply-To only (with a list tag and
// "RE:"), and an unrelated message.
var sortMessages = []string{
	"From: Alice <alice@example.org>\r\nTo: team@example.org\r\nSubject: Lunch?\r\nMessage-ID: <q@x>\r\n" +
		"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nWhere shall we go?\r\n",
	"From: Carol <carol@example.org>\r\nTo: team@example.org\r\nSubject: Re: Lunch?\r\nMessage-ID: <r1@x>\r\n" +
		"In-Reply-To: <q@x>\r\nReferences: <q@x>\r\nDate: Mon, 1 Jan 2024 11:00:00 +0000\r\n\r\nPizza.\r\n",
	"From: Bob <bob@example.org>\r\nTo: team@example.org\r\nSubject: Re: Lunch? (the long answer)\r\nMessage-ID: <r2@x>\r\n" +
		"References: <q@x> <r1@x>\r\nDate: Mon, 1 Jan 2024 12:00:00 +0000\r\n\r\nPizza again, but with a long explanation.\r\n",
	"From: Carol <carol@example.org>\r\nTo: team@example.org\r\nSubject: RE: [team] Lunch?\r\nMessage-ID: <r3@x>\r\n" +
		"In-Reply-To: <r1@x>\r\nDate: Mon, 1 Jan 2024 13:00:00 +0000\r\n\r\nOr sushi, after all.\r\n",
	"From: Dave <dave@example.org>\r\nTo: team@example.org\r\nSubject: The build is broken\r\nMessage-ID: <b@x>\r\n" +
		"Date: Mon, 1 Jan 2024 14:00:00 +0000\r\n\r\nSee the log.\r\n",
}

// TestImaplibSortThread: Python's imaplib sends SORT, UID SORT and THREAD
// (both algorithms) the way webmail clients do and gets the RFC 5256
// orders (testdata/imaplib_sort.py).
func TestImaplibSortThread(t *testing.T) {
	python := needTool(t, "python3")
	ts := newTestServer(t, Options{}, store.Options{})
	const user = "alice@example.org"
	for i, m := range sortMessages {
		if err := ts.store.Deliver(user, "INBOX", []byte(m), "", time.Date(2024, 2, 1+i, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	host, port, _ := strings.Cut(ts.tls, ":")
	out, err := exec.Command(python, "testdata/imaplib_sort.py", host, port, ts.caFile, user, testUsers[user]).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil {
		t.Fatalf("imaplib SORT/THREAD: %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 8 {
		t.Errorf("%d steps passed, want 8", n)
	}
}

// TestMultiAppend: one APPEND with two messages (RFC 3502) stores both
// with one APPENDUID set; one with a message over the limit stores none.
func TestMultiAppend(t *testing.T) {
	ts := newTestServer(t, Options{AppendLimit: 200}, store.Options{})
	rc := dialRawTLS(t, ts, "alice@example.org")
	m1 := "Subject: one\r\n\r\nfirst\r\n"
	m2 := "Subject: two\r\n\r\nsecond\r\n"
	_, got := rc.session(t, "a1", fmt.Sprintf("APPEND INBOX (\\Seen) {%d+}\r\n%s {%d+}\r\n%s", len(m1), m1, len(m2), m2))
	if !strings.HasPrefix(got, "a1 OK [APPENDUID ") || !strings.Contains(got, " 1:2]") {
		t.Fatalf("MULTIAPPEND: %s", got)
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 300) + "\r\n"
	_, got = rc.session(t, "a2", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s", len(m1), m1, len(big), big))
	if !strings.HasPrefix(got, "a2 NO [TOOBIG]") {
		t.Errorf("MULTIAPPEND over the limit: %s", got)
	}
	lines, _ := rc.session(t, "a3", "SELECT INBOX")
	if !hasLine(lines, "* 2 EXISTS") {
		t.Errorf("after the refused MULTIAPPEND: %q", lines)
	}
	lines, _ = rc.session(t, "a4", "FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	if len(lines) < 2 || !strings.Contains(strings.Join(lines, "\n"), "Subject: two") || !strings.Contains(lines[0], `\Seen`) {
		t.Errorf("stored messages: %q", lines)
	}
}

// TestImaplibQuota: imaplib's getquotaroot and getquota read the storage
// limit SMTP and APPEND enforce, and the usage, in KiB; SETQUOTA is
// refused (testdata/imaplib_quota.py).
func TestImaplibQuota(t *testing.T) {
	python := needTool(t, "python3")
	ts := newTestServer(t, Options{}, store.Options{Quota: func(string) int64 { return 10 << 10 }})
	const user = "alice@example.org"
	if err := ts.store.Deliver(user, "INBOX", []byte(sortMessages[0]+strings.Repeat("x", 700)+"\r\n"), "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(ts.tls, ":")
	out, err := exec.Command(python, "testdata/imaplib_quota.py", host, port, ts.caFile, user, testUsers[user]).CombinedOutput()
	t.Logf("imaplib:\n%s", out)
	if err != nil {
		t.Fatalf("imaplib QUOTA: %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 5 {
		t.Errorf("%d steps passed, want 5", n)
	}
}
