package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ipRules decide on the client address alone, as an MX rule on private
// networks would.
const ipRules = `pipeline: inbound
rules:
  - name: lan-client
    when: cidr(conn.ip, "10.0.0.0/8")
    action: reject 550 5.7.1 "LAN clients use submission"
  - name: loopback-client
    when: cidr(conn.ip, "127.0.0.0/8")
    action: quarantine
`

// checkLine is the part of a --json --facts line these tests read.
type checkLine struct {
	Path    string            `json:"path"`
	Action  string            `json:"action"`
	Rules   []string          `json:"rules"`
	Derived map[string]string `json:"derived"`
	Facts   struct {
		Conn struct {
			IP   string `json:"ip"`
			HELO string `json:"helo"`
		} `json:"conn"`
		Envelope struct {
			MailFrom string   `json:"mail_from"`
			Rcpt     []string `json:"rcpt"`
		} `json:"envelope"`
	} `json:"facts"`
}

// checkLines runs sluice check --json --facts with the IP rules and
// returns the per-message lines.
func checkLines(t *testing.T, args ...string) []checkLine {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(ipRules), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.zone"), []byte("$ORIGIN .\n"), 0o644)
	all := append([]string{"check", "--json", "--facts", "-j", "1", "--rules", dir, "--dns", filepath.Join(dir, "empty.zone")}, args...)
	out, stderr, code := runSluice(t, all...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var lines []checkLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, `{"summary"`) {
			continue
		}
		var cl checkLine
		if err := json.Unmarshal([]byte(l), &cl); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, cl)
	}
	return lines
}

// TestCheckDerivesReceivingHop runs sluice check over an mbox whose
// messages carry the Received fields of Postfix, Exim, Sendmail, Dovecot
// LMTP (above Postfix), Gmail and sluice: the client IP and HELO are the
// ones the receiving server saw, private and loopback included, so the
// rule on 10.0.0.0/8 refuses exactly the LAN clients, as the server did.
func TestCheckDerivesReceivingHop(t *testing.T) {
	want := []struct {
		ip, helo, layout, action string
	}{
		{"192.0.2.10", "mail.example.org", "postfix", "accept"},
		{"10.1.2.3", "laptop.lan", "postfix", "reject"},
		{"192.0.2.20", "smtp.example.org", "exim", "accept"},
		{"10.20.30.40", "printer.office.lan", "exim", "reject"},
		{"198.51.100.5", "relay.example.com", "sendmail", "accept"},
		{"2001:db8::25", "helo.example.com", "sendmail", "accept"},
		{"203.0.113.7", "mail.example.org", "postfix", "accept"}, // under Dovecot's LMTP field from 10.0.0.25
		{"111.111.11.111", "mail.emailprovider.com", "gmail", "accept"},
		{"192.0.2.30", "mail.example.org", "gmail", "accept"},
		{"127.0.0.1", "client.example.net", "sluice", "quarantine"},
		{"192.0.2.50", "smtp.example.org", "sluice", "accept"},
	}
	lines := checkLines(t, "rules/testdata/received/formats.mbox")
	if len(lines) != len(want) {
		t.Fatalf("%d messages, want %d", len(lines), len(want))
	}
	for i, w := range want {
		l := lines[i]
		if l.Facts.Conn.IP != w.ip || l.Facts.Conn.HELO != w.helo || l.Action != w.action {
			t.Errorf("%s: ip=%s helo=%s action=%s, want %s %s %s", l.Path, l.Facts.Conn.IP, l.Facts.Conn.HELO, l.Action, w.ip, w.helo, w.action)
		}
		if src := l.Derived["conn.ip"]; !strings.Contains(src, "("+w.layout+" layout)") {
			t.Errorf("%s: conn.ip derived from %q, want the %s layout", l.Path, src, w.layout)
		}
		if len(l.Facts.Envelope.Rcpt) != 1 || l.Derived["envelope.rcpt"] == "" || l.Derived["envelope.mail_from"] == "" {
			t.Errorf("%s: envelope %+v derived %v", l.Path, l.Facts.Envelope, l.Derived)
		}
	}
}

// TestCheckTrustedHops: behind a content filter the MX's own field is the
// third; --trusted-hops or --trusted-net reach it, and the flags win over
// everything derived.
func TestCheckTrustedHops(t *testing.T) {
	const msg = "rules/testdata/received/amavis.eml"
	for _, tc := range []struct {
		args             []string
		ip, action, from string
	}{
		{nil, "127.0.0.1", "quarantine", "Received #1 (postfix layout)"},
		{[]string{"--trusted-hops", "2"}, "198.51.100.77", "accept", "Received #3 (postfix layout)"},
		{[]string{"--trusted-net", "127.0.0.0/8"}, "198.51.100.77", "accept", "Received #3 (postfix layout)"},
		{[]string{"--trusted-hops", "2", "--ip", "10.9.9.9", "--helo", "given.example"}, "10.9.9.9", "reject", "--ip"},
	} {
		l := checkLines(t, append(tc.args, msg)...)[0]
		if l.Facts.Conn.IP != tc.ip || l.Action != tc.action || l.Derived["conn.ip"] != tc.from {
			t.Errorf("%v: ip=%s action=%s conn.ip from %q; want %s %s %q", tc.args, l.Facts.Conn.IP, l.Action, l.Derived["conn.ip"], tc.ip, tc.action, tc.from)
		}
	}
	if _, stderr, code := runSluice(t, "check", "--trusted-net", "nonsense", msg); code != 2 || !strings.Contains(stderr, "--trusted-net") {
		t.Errorf("bad --trusted-net: exit %d, %s", code, stderr)
	}
}

// TestCheckAgreesWithServer: a message the running server junked for
// coming from loopback, dry-run from its Maildir with the same rules,
// gets the same verdict; one it accepted stays accepted.
func TestCheckAgreesWithServer(t *testing.T) {
	inbound := e2eInbound + `  - name: loopback-newsletter
    when: cidr(conn.ip, "127.0.0.0/8") and msg.subject contains "newsletter"
    action: junk
`
	e := newE2E(t, inbound)
	if err := e.send("news@remote.example", "bob@example.net", "weekly newsletter"); err != nil {
		t.Fatal(err)
	}
	if err := e.send("friend@remote.example", "bob@example.net", "lunch?"); err != nil {
		t.Fatal(err)
	}
	junk := e.mailbox("bob@example.net", "Junk", 1)[0]
	inbox := e.mailbox("bob@example.net", "INBOX", 1)[0]
	for _, tc := range []struct{ raw, action string }{{junk, "junk"}, {inbox, "accept"}} {
		p := filepath.Join(t.TempDir(), "stored.eml")
		os.WriteFile(p, []byte(tc.raw), 0o644)
		out, stderr, code := runSluice(t, "check", "--json", "--facts", "--rules", filepath.Join(e.dir, "rules"),
			"--dns", filepath.Join(e.dir, "test.zone"), p)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var l checkLine
		json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &l)
		if l.Action != tc.action || l.Facts.Conn.IP != "127.0.0.1" || !strings.Contains(l.Derived["conn.ip"], "sluice layout") {
			t.Errorf("stored message checked as %s from %s (%s), the server said %s", l.Action, l.Facts.Conn.IP, l.Derived["conn.ip"], tc.action)
		}
	}
}
