package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/reports"
)

// The whole server with DMARC reports on and forwarding: a message from
// remote.example is evaluated and recorded although no rule reads dmarc;
// `sluice dmarc send` (through the admin listener) mails the report to
// remote.example's rua; a report mailed to our rua shows in `sluice dmarc
// report`; an alias forwards out with an SRS sender.
func TestDMARCReportsAndForwardingE2E(t *testing.T) {
	e := newE2EWith(t, e2eInbound, "dmarc: {reports: true}\n",
		"remote.example. TXT \"v=spf1 ip4:127.0.0.1 -all\"\n"+
			"_dmarc.remote.example. TXT \"v=DMARC1; p=none; rua=mailto:dmarc@remote.example\"\n")
	if err := e.send("bob@remote.example", "alice@example.net", "hello"); err != nil {
		t.Fatal(err)
	}
	if got := e.mailbox("alice@example.net", "INBOX", 1)[0]; !strings.Contains(got, "dmarc=pass") {
		t.Errorf("no DMARC result in our Authentication-Results:\n%s", got)
	}
	// The CLI reaches the running server through the config's admin
	// address: a copy of the config names the bound one.
	cfgText, _ := os.ReadFile(filepath.Join(e.dir, "sluice.yaml"))
	conf := filepath.Join(e.dir, "cli.yaml")
	os.WriteFile(conf, bytes.Replace(cfgText, []byte(`admin: "127.0.0.1:0"`), []byte(`admin: "`+e.bound("admin")+`"`), 1), 0o600)

	var out, errb bytes.Buffer
	if code := runDMARC([]string{"send", "--config", conf, "--dry-run"}, &out, &errb); code != 0 {
		t.Fatalf("dmarc send --dry-run: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "would send to dmarc@remote.example") || !strings.Contains(out.String(), "<source_ip>127.0.0.1</source_ip>") {
		t.Errorf("dry run:\n%s", out.String())
	}
	if len(e.remote.Messages()) != 0 {
		t.Fatal("the dry run sent something")
	}
	out.Reset()
	if code := runDMARC([]string{"send", "--config", conf}, &out, &errb); code != 0 {
		t.Fatalf("dmarc send: %d %s", code, errb.String())
	}
	rep := e.remoteMessages(1)[0]
	if strings.Join(rep.To, ",") != "dmarc@remote.example" || rep.From != "dmarc-reports@example.net" {
		t.Errorf("report sent as <%s> to %v", rep.From, rep.To)
	}
	fb := gzippedReport(t, rep.Data)
	if fb.Policy.Domain != "remote.example" || len(fb.Records) != 1 || fb.Records[0].Row.Count != 1 ||
		fb.Records[0].Row.PolicyEvaluated.SPF != "pass" || fb.Metadata.OrgName != "mx.example.net" {
		t.Errorf("report: %+v", fb)
	}
	if !bytes.Contains(rep.Data, []byte("DKIM-Signature:")) {
		t.Error("the report mail is not DKIM-signed")
	}
	out.Reset()
	runDMARC([]string{"send", "--config", conf}, &out, &errb)
	if !strings.Contains(out.String(), "no reports to send") {
		t.Errorf("a second send: %s", out.String())
	}

	// A report for us, from Google, to our rua address (no mailbox).
	raw, err := os.ReadFile("../../server/reports/testdata/received/100.eml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sendRaw(e.addr("smtp"), "noreply-dmarc-support@google.com", "dmarc-reports@example.net", raw); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := runDMARC([]string{"report", "--config", conf, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("dmarc report: %d %s", code, errb.String())
	}
	var sum reports.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || len(sum.Sources) != 1 || sum.Sources[0].SourceIP != "2a01:4f9:c011:b43c::1" || sum.Reports[0].Org != "google.com" {
		t.Errorf("summary %v: %s", err, out.String())
	}
	out.Reset()
	runDMARC([]string{"report", "--config", conf}, &out, &errb)
	if !strings.Contains(out.String(), "stalw.art") || !strings.Contains(out.String(), "google.com") {
		t.Errorf("text summary:\n%s", out.String())
	}

	// Forwarding: an alias pointing outside leaves with an SRS sender.
	if err := e.in.accounts.SetAlias("fwd@example.net", []string{"carol@remote.example"}); err != nil {
		t.Fatal(err)
	}
	if err := e.send("bob@remote.example", "fwd@example.net", "forward"); err != nil {
		t.Fatal(err)
	}
	fwd := e.remoteMessages(2)[1]
	if !strings.HasPrefix(fwd.From, "SRS0=") || !strings.HasSuffix(fwd.From, "=remote.example=bob@example.net") {
		t.Errorf("forwarded as <%s>", fwd.From)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "data", "srs.secret")); err != nil {
		t.Errorf("no SRS secret in the data directory: %v", err)
	}
}

func gzippedReport(t *testing.T, raw []byte) *reports.Feedback {
	t.Helper()
	ent, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var fb *reports.Feedback
	ent.Walk(func(_ []int, p *gomessage.Entity, _ error) error {
		if ct, _, _ := p.Header.ContentType(); ct == "application/gzip" {
			zr, err := gzip.NewReader(p.Body)
			if err != nil {
				t.Fatal(err)
			}
			doc, _ := io.ReadAll(zr)
			if fb, err = reports.ParseXML(doc); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
	if fb == nil {
		t.Fatalf("no application/gzip report in\n%s", raw)
	}
	return fb
}

// sendRaw delivers a message as it is over the MX listener.
func sendRaw(addr, from, to string, raw []byte) error {
	c, err := gosmtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, []string{to}, bytes.NewReader(raw))
}
