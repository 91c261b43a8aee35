package imap

import (
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
	if n := strings.Count(string(out), "ok "); n != 5 {
		t.Errorf("%d steps passed, want 5", n)
	}
}
