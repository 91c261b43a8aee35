package imap

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/store"
)

// The three messages the scripted sessions start from.
var (
	msgFirst = "From: Dave <dave@example.net>\r\nTo: alice@example.org\r\nSubject: first message\r\n" +
		"Message-ID: <m1@example.net>\r\nDate: Tue, 2 Jan 2024 09:00:00 +0000\r\n\r\nHello Alice.\r\n"
	msgSecond = "From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: second message\r\n" +
		"Message-ID: <m2@example.net>\r\nDate: Wed, 3 Jan 2024 09:00:00 +0000\r\n\r\nThe needle is in this body.\r\n"
	msgMultipart = "From: Erin <erin@example.net>\r\nTo: alice@example.org\r\nSubject: with attachment\r\n" +
		"Message-ID: <m3@example.net>\r\nDate: Thu, 4 Jan 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nplain part\r\n" +
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nYmluYXJ5LWRhdGEh\r\n--b1--\r\n"
)

func seed(t *testing.T, st *store.Store, user string) {
	t.Helper()
	for _, m := range []string{msgFirst, msgSecond, msgMultipart} {
		if err := st.Deliver(user, "INBOX", []byte(m), "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImaplibSession drives the server with Python's imaplib through
// every command a mail client uses (testdata/imaplib_session.py).
func TestImaplibSession(t *testing.T) {
	python := needTool(t, "python3")
	ts := newTestServer(t, Options{}, store.Options{})
	seed(t, ts.store, "alice@example.org")
	seed(t, ts.store, "bob@example.org")
	host, plainPort, _ := strings.Cut(ts.plain, ":")
	_, tlsPort, _ := strings.Cut(ts.tls, ":")
	out, err := exec.Command(python, "testdata/imaplib_session.py", host, plainPort, tlsPort, ts.caFile,
		"alice@example.org", testUsers["alice@example.org"], "bob@example.org").CombinedOutput()
	t.Logf("imaplib session:\n%s", out)
	if err != nil {
		t.Fatalf("imaplib session failed: %v", err)
	}
	// Bob's mail was not touched.
	a, _ := ts.store.Account("bob@example.org")
	m, _ := a.Mailbox("INBOX")
	if st, _ := m.Status(); st.Messages != 3 || st.Unseen != 3 {
		t.Errorf("bob's INBOX changed: %+v", st)
	}
}
