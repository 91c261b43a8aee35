package smtp

import (
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"

	_ "github.com/sluicemail/sluice/stages/dnsbl" // the check the rules use
)

const journalRules = `pipeline: inbound
stages:
  dnsbl:
    query_local: true
    zones: [{zone: bl.example}]
rules:
  - name: listed
    when: dnsbl.listed and envelope.mail_from endsWith "@listed.example"
    action: reject 554 5.7.1 "Client {{ conn.ip }} is listed at {{ dnsbl.hits[0].zone }}"
  - name: junk-me
    when: msg.subject contains "viagra"
    action: junk
`

// TestJournalRecordsVerdicts: every verdict of a real SMTP session has a
// journal record whose ID is in the log line, with the rule's file and
// line, the facts, each check and the DNS answer the dnsbl check used; a
// refusal at RCPT is recorded too, and a delivered message keeps its text
// for replay.
func TestJournalRecordsVerdicts(t *testing.T) {
	zone, err := resolver.ParseZone("$ORIGIN .\n1.0.0.127.bl.example. 300 IN A 127.0.0.2\n")
	if err != nil {
		t.Fatal(err)
	}
	dns, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, zone)}})
	if err != nil {
		t.Fatal(err)
	}
	jdir := t.TempDir()
	j, err := journal.Open(jdir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	h := newHarness(t, harnessOpts{rules: journalRules, dns: dns, modify: func(o *Options) { o.Journal = j }})

	err = h.send("x@listed.example", []string{"alice@example.net"}, simpleMessage("x@listed.example", "alice@example.net", "hi", "x"))
	if smtpCode(err) != 554 {
		t.Fatalf("listed sender: %v", err)
	}
	junk := simpleMessage("s@example.org", "alice@example.net", "cheap viagra", "buy")
	if err := h.send("s@example.org", []string{"alice@example.net"}, junk); err != nil {
		t.Fatal(err)
	}
	if err := h.send("s@example.org", []string{"bob@example.net"}, simpleMessage("s@example.org", "bob@example.net", "lunch", "at noon")); err != nil {
		t.Fatal(err)
	}
	var recs []*journal.Record
	if err := journal.Scan(jdir, func(r *journal.Record) error { recs = append(recs, r); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(recs), recs)
	}
	ref, jk, ok := recs[0], recs[1], recs[2]
	if ref.Action != "reject" || ref.Code != 554 || ref.Phase != "mail" || ref.Envelope.Refused != "alice@example.net" ||
		len(ref.Rules) != 1 || ref.Rules[0].Name != "listed" || ref.Rules[0].Line != 7 || !strings.HasSuffix(ref.Rules[0].File, "inbound.yaml") {
		t.Errorf("refusal record: %+v", ref)
	}
	if len(ref.DNS) != 1 || ref.DNS[0].Name != "1.0.0.127.bl.example." || ref.DNS[0].Rcode != "success" || !strings.Contains(ref.DNS[0].Records[0], "127.0.0.2") {
		t.Errorf("refusal DNS: %+v", ref.DNS)
	}
	if len(ref.Checks) != 1 || ref.Checks[0].Stage != "dnsbl" || ref.Stored != nil || ref.RuleSet == "" {
		t.Errorf("refusal checks %+v stored %+v ruleset %q", ref.Checks, ref.Stored, ref.RuleSet)
	}
	if d, _ := ref.FactsMap()["dnsbl"].(map[string]any); d["listed"] != true {
		t.Errorf("refusal facts: %v", ref.Facts)
	}
	if jk.Action != "junk" || jk.Subject != "cheap viagra" || jk.From != "<s@example.org>" || jk.MessageID == "" || jk.Stored == nil || jk.Stored.Queue == "" ||
		!strings.Contains(jk.Received, "id "+jk.Session) {
		t.Errorf("junk record: %+v", jk)
	}
	body, err := journal.ReadBody(jdir, jk.Stored.Body)
	if err != nil || !strings.Contains(string(body), "Subject: cheap viagra") {
		t.Errorf("junk body %q, %v", body, err)
	}
	if ok.Action != "accept" || len(ok.Rules) != 0 || ok.Envelope.Rcpt[0] != "bob@example.net" {
		t.Errorf("accept record: %+v", ok)
	}
	for _, r := range recs {
		if !strings.Contains(h.logs.String(), "journal="+r.ID) {
			t.Errorf("no log line names journal ID %s", r.ID)
		}
	}
	// A refusal at connection answered at several RCPTs is one record.
	c, err := gosmtp.Dial(h.mx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Mail("y@listed.example", nil)
	c.Rcpt("alice@example.net", nil)
	c.Rcpt("bob@example.net", nil)
	c.Quit()
	n := 0
	journal.Scan(jdir, func(*journal.Record) error { n++; return nil }, nil)
	if n != 4 {
		t.Errorf("%d records after one refused transaction with two RCPTs, want 4", n)
	}
}
