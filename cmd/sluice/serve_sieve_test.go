package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/sluicemail/sluice/server/store"
)

// Through the real SMTP listener: the user's script files into folders
// with flags, the rules' junk verdict sends the implicit keep to Junk,
// and the vacation reply goes out once, through the relay.
func TestServeSieveDelivery(t *testing.T) {
	e := newE2E(t, e2eInbound)
	err := e.in.scripts.Install("bob@example.net", "main", `require ["fileinto", "imap4flags", "vacation", "mailbox"];
if header :contains "subject" "report" {
  fileinto :create :flags ["\\Flagged", "Work"] "Reports";
  stop;
}
vacation :days 1 :subject "Away" "I am away this week.";
`)
	if err != nil {
		t.Fatal(err)
	}
	from := "carol@remote.example"
	for _, subject := range []string{"monthly report", "hello", "hello again", "cheap viagra"} {
		if err := e.send(from, "bob@example.net", subject); err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
	}
	e.mailbox("bob@example.net", "Reports", 1)
	for _, m := range e.mailbox("bob@example.net", "INBOX", 2) {
		if !strings.Contains(m, "\r\nX-Sluice-Spam: score=0\r\n") {
			t.Errorf("no spam status for spamtest:\n%s", m)
		}
	}
	junk := e.mailbox("bob@example.net", "Junk", 1)
	if !strings.Contains(junk[0], "cheap viagra") {
		t.Errorf("Junk holds the wrong message:\n%s", junk[0])
	}
	acc, err := e.in.store.Account("bob@example.net")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := acc.Mailbox("Reports")
	if err != nil {
		t.Fatal(err)
	}
	mb.Sync(true)
	mb.View(func(msgs []*store.Message) error {
		if len(msgs) != 1 || !slices.Contains(msgs[0].IMAPFlags(), imap.FlagFlagged) || !slices.Contains(msgs[0].IMAPFlags(), imap.Flag("Work")) {
			t.Errorf("Reports flags: %v", msgs[0].IMAPFlags())
		}
		return nil
	})
	replies := e.remoteMessages(1)
	r := replies[0]
	if r.From != "" || len(r.To) != 1 || r.To[0] != from {
		t.Errorf("reply envelope: from <%s> to %v", r.From, r.To)
	}
	for _, want := range []string{"Auto-Submitted: auto-replied", "Subject: Away", "I am away this week."} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("reply lacks %q:\n%s", want, r.Data)
		}
	}
	// No second reply shows up later either.
	time.Sleep(300 * time.Millisecond)
	if n := len(e.remote.Messages()); n != 1 {
		t.Errorf("%d replies, want 1 within :days", n)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "data", "mail", "example.net", "bob", ".dovecot.sieve")); err != nil {
		t.Errorf("active script link: %v", err)
	}
}

// A real ManageSieve client, sieve-connect (Debian package), uploads,
// activates, lists and downloads a script over STARTTLS; then mail
// through the MX is filed by it.
func TestServeManageSieveWithSieveConnect(t *testing.T) {
	bin := requireTool(t, "sieve-connect")
	e := newE2E(t, e2eInbound)
	// The e2e config has no managesieve listener: start one on the same
	// instance, as startManageSieve does from listen.managesieve.
	e.in.cfg.Listen.ManageSieve = "127.0.0.1:0"
	tlsConf := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return selfSignedCert(t), nil }}
	if err := e.in.startManageSieve(tlsConf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.in.stopManageSieve)
	host, port, _ := net.SplitHostPort(e.bound("managesieve"))
	script := filepath.Join(t.TempDir(), "filters.sieve")
	os.WriteFile(script, []byte("require [\"fileinto\", \"imap4flags\", \"mailbox\"];\nif header :contains \"subject\" \"invoice\" { fileinto :create :flags \"\\\\Seen\" \"Bills\"; }\n"), 0o644)
	run := func(args ...string) string {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString("password1\n")
		w.Close()
		cmd := exec.Command(bin, append([]string{"--server", host, "--port", port, "--user", "bob@example.net",
			"--passwordfd", "3", "--notlsverify", "--authmech", "PLAIN"}, args...)...)
		cmd.ExtraFiles = []*os.File{r}
		out, err := cmd.CombinedOutput()
		r.Close()
		if err != nil {
			t.Fatalf("sieve-connect %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("--upload", "--localsieve", script, "--remotesieve", "filters")
	run("--activate", "--remotesieve", "filters")
	if out := run("--list"); !strings.Contains(out, "filters") || !strings.Contains(strings.ToLower(out), "active") {
		t.Errorf("--list: %s", out)
	}
	back := filepath.Join(t.TempDir(), "back.sieve")
	run("--download", "--remotesieve", "filters", "--localsieve", back)
	if a, b := readFile(t, script), readFile(t, back); a != b {
		t.Errorf("downloaded script differs:\n%s\n---\n%s", a, b)
	}
	if err := e.send("carol@remote.example", "bob@example.net", "invoice 7"); err != nil {
		t.Fatal(err)
	}
	e.mailbox("bob@example.net", "Bills", 1)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func selfSignedCert(t *testing.T) *tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Error(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
