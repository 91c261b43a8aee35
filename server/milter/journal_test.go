package milter

import (
	"testing"

	"github.com/sluicemail/sluice/server/journal"
)

// TestJournal: milter verdicts land in the verdict journal like the SMTP
// server's: a greylisting with its "retry after", a refusal at MAIL, and an
// accepted message with its body for replay.
func TestJournal(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := startMilterWith(t, func(o *Options) { o.Journal = j })
	m := dialMTA(t, addr, "")
	m.send("<news@grey.example>", []string{"<bob@example.net>"}, message("hi"))
	m.send("<spammer@bad.example>", []string{"<bob@example.net>"}, message("hi"))
	m.send("<a@example.org>", []string{"<bob@example.net>"}, message("clean one"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var recs []*journal.Record
	if err := journal.Scan(dir, func(r *journal.Record) error { recs = append(recs, r); return nil }, func(w string) { t.Error(w) }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	grey, refused, clean := recs[0], recs[1], recs[2]
	if grey.Action != "tempfail" || grey.Text != "Greylisted, retry after 1h0m0s" || grey.Phase != "rcpt" || len(grey.Rules) != 1 || grey.Rules[0].Name != "grey" {
		t.Errorf("greylist record: %+v", grey)
	}
	if grey.Conn.Listener != Listener || grey.Conn.IP != "192.0.2.7" || grey.FactsMap()["greylist"] == nil {
		t.Errorf("greylist record conn/facts: %+v %v", grey.Conn, grey.FactsMap())
	}
	if refused.Code != 550 || refused.Phase != "mail" || refused.Envelope.From != "spammer@bad.example" {
		t.Errorf("refusal record: %+v", refused)
	}
	if clean.Action != "accept" || clean.Subject != "clean one" || clean.From != "Alice <alice@example.org>" || clean.Stored == nil || clean.Stored.Body == nil {
		t.Fatalf("accepted record: %+v", clean)
	}
	body, err := journal.ReadBody(dir, clean.Stored.Body)
	if err != nil || len(body) != clean.Stored.Size {
		t.Fatalf("body: %d bytes, %v; want %d", len(body), err, clean.Stored.Size)
	}
}
