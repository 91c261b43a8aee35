package milter

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/relay/relaytest"
	"github.com/sluicemail/sluice/server/smtp"
)

// postfix is a real Postfix (Debian's package) with a throw-away
// configuration and queue, listening on a loopback port, filtering through
// our milter and relaying what it accepts to a sink.
type postfix struct {
	t    *testing.T
	dir  string
	smtp string // its smtpd address
}

// startPostfix needs root (Postfix's master drops to its mail_owner) and
// the package; in CI both are there, elsewhere the test is skipped.
func startPostfix(t *testing.T, milterAddr string, sinkPort int) *postfix {
	t.Helper()
	bin, err := exec.LookPath("postfix")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("postfix is required in CI: %v", err)
		}
		t.Skipf("postfix not installed: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("starting Postfix needs root")
	}
	dir, err := os.MkdirTemp("", "sluice-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"etc", "queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	p := &postfix{t: t, dir: dir, smtp: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	main := fmt.Sprintf(postfixMain, dir, dir, dir, sinkPort, milterAddr, milterAddr, dir, dir)
	master := strings.Replace(postfixMaster, "SMTPD", p.smtp, 1)
	os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(master), 0o644)
	if out, err := exec.Command(bin, "-c", filepath.Join(dir, "etc"), "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix start: %v %s\n%s", err, out, p.log())
	}
	t.Cleanup(func() {
		exec.Command(bin, "-c", filepath.Join(dir, "etc"), "stop").Run()
		if t.Failed() {
			t.Logf("postfix log:\n%s", p.log())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.smtp, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix smtpd on %s does not answer: %v\n%s", p.smtp, err, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *postfix) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "maillog"))
	return string(b)
}

// send speaks SMTP to Postfix as an Internet client would.
func (p *postfix) send(from, to, msg string) error {
	c, err := gosmtp.Dial(p.smtp)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	return c.SendMail(from, []string{to}, strings.NewReader(msg))
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// postfixMain relays example.net to the sink and filters everything
// through the milter; milter_default_action = tempfail is what keeps mail
// from passing unchecked when sluice is down.
const postfixMain = `compatibility_level = 3.6
queue_directory = %s/queue
data_directory = %s/data
maillog_file = %s/maillog
maillog_file_prefixes = /tmp, /var
mail_owner = postfix
myhostname = mx.example.net
mydomain = example.net
myorigin = example.net
mydestination =
local_transport = error:no local delivery here
relay_domains = example.net
relayhost = [127.0.0.1]:%d
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters = inet:%s
non_smtpd_milters = inet:%s
milter_default_action = tempfail
milter_protocol = 6
alias_maps =
alias_database =
smtp_dns_support_level = disabled
smtputf8_enable = no
biff = no
# ignored, only so that Sprintf uses every argument: %s %s
`

const postfixMaster = `SMTPD inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

// TestPostfix runs the milter behind a real Postfix: a message the rules
// reject is refused by Postfix with our reply; a junk one is delivered with
// our header; a clean one with our Authentication-Results; and with sluice
// gone, Postfix tempfails rather than passing mail unchecked.
func TestPostfix(t *testing.T) {
	sink := relaytest.Start(t, relaytest.Options{})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(testRules), 0o644)
	set, err := rules.Load(dir, rules.Options{State: engine.NewMemoryState()})
	if err != nil {
		t.Fatal(err)
	}
	rm := smtp.NewMetrics()
	srv := New(Options{Pipeline: set.Pipeline, AuthservID: "mx.example.net", Logger: slog.New(slog.DiscardHandler), Rules: rm})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(rm, srv.Metrics())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	pf := startPostfix(t, l.Addr().String(), sink.Port)

	err = pf.send("spammer@bad.example", "bob@example.net", message("hi"))
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 550 || !strings.Contains(se.Message, "Sender spammer@bad.example refused") {
		t.Fatalf("blocked sender through Postfix: %v, want our 550 and text", err)
	}
	if err := pf.send("a@example.org", "bob@example.net", message("cheap viagra")); err != nil {
		t.Fatalf("junk through Postfix: %v", err)
	}
	if err := pf.send("a@example.org", "bob@example.net", message("clean")); err != nil {
		t.Fatalf("clean through Postfix: %v", err)
	}
	// Forged fields in our name around another host's: Postfix must
	// delete exactly the forged ones, whatever their places.
	forged := message("forged",
		"Authentication-Results: mx.example.net; dkim=pass header.d=bank.example",
		"Authentication-Results: other.example; spf=pass smtp.mailfrom=x",
		"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=bank.example",
		"Authentication-Results: second.example; spf=fail smtp.mailfrom=y")
	if err := pf.send("a@example.org", "bob@example.net", forged); err != nil {
		t.Fatalf("forged Authentication-Results through Postfix: %v", err)
	}
	// The other actions as Postfix carries them out: redirect (the
	// recipient replaced), discard (accepted, never delivered),
	// quarantine (Postfix's hold queue) and a subject tag.
	for _, c := range []struct{ to, subject string }{
		{"carol@example.net", "REDIRECT this"}, {"bob@example.net", "DROP this"},
		{"bob@example.net", "HOLD this"}, {"bob@example.net", "an offer"},
	} {
		if err := pf.send("a@example.org", c.to, message(c.subject)); err != nil {
			t.Fatalf("%q through Postfix: %v", c.subject, err)
		}
	}
	got := waitSink(t, sink, 5)
	for _, m := range sink.Messages() {
		if strings.Contains(string(m.Data), "Subject: REDIRECT this") && (len(m.To) != 1 || m.To[0] != "bob@example.net") {
			t.Errorf("redirected message delivered to %v, want only bob@example.net", m.To)
		}
	}
	if _, ok := got["[SPAM?] an offer"]; !ok {
		t.Errorf("no message delivered with the tagged subject; got %d messages", len(got))
	}
	if held, _ := os.ReadDir(filepath.Join(pf.dir, "queue", "hold")); len(held) != 1 {
		t.Errorf("%d messages in Postfix's hold queue, want the quarantined one", len(held))
	}
	if f := got["forged"]; strings.Count(f, "Authentication-Results: mx.example.net") != 1 ||
		strings.Contains(f, "bank.example") || !strings.Contains(f, "other.example") || !strings.Contains(f, "second.example") {
		t.Errorf("forged Authentication-Results: want ours once and the two other hosts' kept, got:\n%s", f)
	}
	junk, clean := got["cheap viagra"], got["clean"]
	if !strings.Contains(junk, "\r\nX-Spam: Yes\r\n") && !strings.HasPrefix(junk, "X-Spam: Yes\r\n") {
		t.Errorf("junk message delivered without our header:\n%s", junk)
	}
	if !strings.Contains(clean, "Authentication-Results: mx.example.net") {
		t.Errorf("clean message delivered without our Authentication-Results:\n%s", clean)
	}
	metrics := scrape(t, reg)
	// Postfix opens a milter session per SMTP session, and may open more
	// (its cleanup server, a reused smtpd process).
	if n := metrics[`sluice_milter_sessions_total`]; n < 3 {
		t.Errorf("sluice_milter_sessions_total = %v after three SMTP sessions through Postfix", n)
	}
	for k, v := range map[string]float64{
		`sluice_milter_replies_total{action="reject"}`:              1,
		`sluice_milter_replies_total{action="accept"}`:              6,
		`sluice_milter_replies_total{action="discard"}`:             1,
		`sluice_verdicts_total{action="reject",pipeline="inbound"}`: 1,
		`sluice_verdicts_total{action="junk",pipeline="inbound"}`:   1,
		`sluice_verdicts_total{action="accept",pipeline="inbound"}`: 3,
	} {
		if metrics[k] != v {
			t.Errorf("after Postfix's three sessions, %s = %v, want %v", k, metrics[k], v)
		}
	}

	srv.Close() // sluice is gone
	err = pf.send("a@example.org", "bob@example.net", message("while sluice is down"))
	if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code/100 != 4 {
		t.Fatalf("with the milter down: %v, want a 4xx from Postfix", err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(sink.Messages()); n != 5 {
		t.Fatalf("%d messages reached the sink, want 5: one passed unchecked or the discarded one was delivered", n)
	}
}

// waitSink waits for n deliveries (Postfix's queue manager works on its
// own time) and returns them by Subject.
func waitSink(t *testing.T, sink *relaytest.Server, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(sink.Messages()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages delivered", len(sink.Messages()), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := map[string]string{}
	for _, m := range sink.Messages() {
		raw := string(m.Data)
		for _, line := range strings.Split(raw, "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				out[s] = raw
				break
			}
		}
	}
	return out
}
