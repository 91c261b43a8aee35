package authres

import (
	"strings"
	"testing"

	msgauthres "github.com/emersion/go-msgauth/authres"
	"github.com/sluicemail/sluice/engine"
)

func facts() *engine.Facts {
	return &engine.Facts{
		Conn:     engine.ConnFacts{IP: "192.0.2.1", HELO: "mail.example.org"},
		Envelope: engine.EnvelopeFacts{MailFrom: "bounce@example.org"},
		Rdns:     engine.RDNSFacts{Result: "pass"},
		SPF:      engine.SPFFacts{Result: "pass", Domain: "example.org", Identity: "mailfrom"},
		DKIM: engine.DKIMFacts{Result: "pass", Pass: true, PassDomains: []string{"example.org"}, Results: []engine.DKIMResult{
			{Domain: "example.org", Selector: "s1", Algorithm: "rsa-sha256", Result: "pass"},
			{Domain: "list.example", Selector: "k", Algorithm: "ed25519-sha256", Result: "fail", Reason: "body hash did not verify"},
		}},
		DMARC: engine.DMARCFacts{Result: "pass", Policy: "reject", Domain: "example.org"},
	}
}

func TestFormat(t *testing.T) {
	got := Format("mx.example.net", facts())
	want := "mx.example.net; iprev=pass policy.iprev=192.0.2.1; spf=pass smtp.mailfrom=bounce@example.org; " +
		"dkim=pass header.a=rsa-sha256 header.d=example.org header.s=s1; " +
		`dkim=fail reason="body hash did not verify" header.a=ed25519-sha256 header.d=list.example header.s=k; ` +
		"dmarc=pass header.from=example.org"
	if strings.Join(strings.Fields(got), " ") != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	id, results, err := msgauthres.Parse(got)
	if err != nil || id != "mx.example.net" || len(results) != 5 {
		t.Fatalf("does not parse back: %q %v %v", id, results, err)
	}
	if d, ok := results[4].(*msgauthres.DMARCResult); !ok || d.Value != "pass" || d.From != "example.org" {
		t.Errorf("dmarc parsed back as %+v", results[4])
	}
}

func TestFormatOnlyWhatRan(t *testing.T) {
	if got := Format("mx.example.net", &engine.Facts{}); got != "mx.example.net; none" {
		t.Errorf("nothing ran: %q", got)
	}
	f := &engine.Facts{
		Conn: engine.ConnFacts{IP: "192.0.2.1", HELO: "helo.example"},
		Rdns: engine.RDNSFacts{Result: "none"},
		SPF:  engine.SPFFacts{Result: "softfail", Domain: "helo.example", Identity: "helo"},
		DKIM: engine.DKIMFacts{Result: "none"},
	}
	got := strings.Join(strings.Fields(Format("mx", f)), " ")
	want := "mx; iprev=permerror policy.iprev=192.0.2.1; spf=softfail smtp.helo=helo.example; dkim=none"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestFieldFolds(t *testing.T) {
	f := facts()
	for i := 0; i < 8; i++ {
		f.DKIM.Results = append(f.DKIM.Results, f.DKIM.Results[1])
	}
	field := Field("mx.example.net", f)
	if !strings.HasSuffix(field, "\r\n") {
		t.Fatal("no CRLF at the end")
	}
	lines := strings.Split(strings.TrimSuffix(field, "\r\n"), "\r\n")
	if len(lines) < 5 {
		t.Errorf("only %d lines", len(lines))
	}
	for i, l := range lines {
		if len(l) > 78 {
			t.Errorf("line %d has %d characters: %q", i, len(l), l)
		}
		if i > 0 && l[0] != ' ' {
			t.Errorf("continuation line %d does not start with a space", i)
		}
	}
	if unfolded := strings.ReplaceAll(field, "\r\n", ""); unfolded != "Authentication-Results: "+Format("mx.example.net", f) {
		t.Errorf("unfolding does not give the value back:\n%s", unfolded)
	}
}
