package smtp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/reports"
	"github.com/sluicemail/sluice/stages/resolver"
	_ "github.com/sluicemail/sluice/stages/spf" // dmarc needs spf
)

// With DMARC reports on, every inbound message is evaluated (the rules
// here read no dmarc fact) and recorded with what was done to it; mail to
// our rua address is taken in as a report, or refused if it is none.
func TestDMARCReporting(t *testing.T) {
	z, err := resolver.ParseZone(`
sender.example. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.sender.example. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@sender.example"
forged.example. 300 IN TXT "v=spf1 -all"
_dmarc.forged.example. 300 IN TXT "v=DMARC1; p=quarantine"
`)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := reports.Open(dir, reports.Options{Address: "dmarc-reports@example.net"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHarness(t, harnessOpts{dns: z, always: []string{"dmarc"}, modify: func(o *Options) { o.Reports = st }})
	if err := h.send("alice@sender.example", []string{"bob@example.net"}, simpleMessage("alice@sender.example", "bob@example.net", "hi", "x")); err != nil {
		t.Fatal(err)
	}
	if err := h.send("eve@forged.example", []string{"bob@example.net"}, simpleMessage("ceo@forged.example", "bob@example.net", "viagra", "x")); err != nil {
		t.Fatal(err)
	}
	msgs := h.mailbox("bob@example.net", "INBOX", 1)
	if !strings.Contains(msgs[0], "dmarc=pass") {
		t.Errorf("our Authentication-Results lacks the DMARC result:\n%s", msgs[0])
	}
	st.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "evaluations", "current.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"hf":"sender.example"`) || !strings.Contains(lines[0], `"d":"none"`) ||
		!strings.Contains(lines[1], `"hf":"forged.example"`) || !strings.Contains(lines[1], `"d":"quarantine"`) || !strings.Contains(lines[0], `"ip":"127.0.0.1"`) {
		t.Errorf("recorded:\n%s", b)
	}

	raw, err := os.ReadFile("../reports/testdata/received/102.eml")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.send("noreply@mail.ru", []string{"dmarc-reports@example.net"}, string(raw)); err != nil {
		t.Fatalf("a report to our rua address: %v", err)
	}
	rs, err := st.Reports(time.Time{})
	if err != nil || len(rs) != 1 || rs[0].Feedback.Policy.Domain != "stalw.art" {
		t.Fatalf("reports kept: %+v %v", rs, err)
	}
	err = h.send("someone@sender.example", []string{"dmarc-reports@example.net"}, simpleMessage("someone@sender.example", "dmarc-reports@example.net", "hello", "not a report"))
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("a non-report to the rua address: %v", err)
	}
}
