package replay

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/stages/resolver"

	_ "github.com/sluicemail/sluice/stages/all" // the checks the rules use
)

const newRules = `pipeline: inbound
rules:
  - name: no-rdns
    when: rdns.result == "temperror"
    action: tempfail
  - name: no-ptr
    when: rdns.result == "none"
    action: junk
  - name: big
    when: msg.subject contains "big"
    action: discard
`

func load(t *testing.T, text string) *rules.Set {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte(text), 0o644)
	set, err := rules.Load(dir, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestUnrecordedQuestions: new rules that need a check the old run never
// made get the answer the policy says, and the questions are reported.
func TestUnrecordedQuestions(t *testing.T) {
	set := load(t, newRules)
	rec := &journal.Record{ID: "R1", Pipeline: "inbound", Action: "accept",
		Conn:     journal.Conn{IP: "192.0.2.1", HELO: "h.example", Listener: "smtp"},
		Envelope: journal.Envelope{From: "a@example.org", Refused: "b@example.net"}}
	for _, c := range []struct {
		policy resolver.Unrecorded
		action string
	}{{resolver.UnrecordedTemperror, "tempfail"}, {resolver.UnrecordedNXDomain, "junk"}} {
		out, err := Record(context.Background(), rec, Options{Pipeline: set.Pipeline, Unrecorded: c.policy})
		if err != nil {
			t.Fatal(err)
		}
		if out.Verdict.Action != c.action || len(out.Unrecorded) != 1 || out.Unrecorded[0] != "1.2.0.192.in-addr.arpa. PTR" || !out.NoBody {
			t.Errorf("%s: %+v", c.policy, out)
		}
	}
}

// TestRecordedAnswersAndBody: the recorded PTR answer and the kept message
// text are what the new rules see.
func TestRecordedAnswersAndBody(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	raw := []byte("Subject: a big offer\r\n\r\nhello\r\n")
	rec := &journal.Record{Pipeline: "inbound", Action: "accept", Phase: "data",
		Conn:     journal.Conn{IP: "192.0.2.1", HELO: "h.example", Listener: "smtp"},
		Envelope: journal.Envelope{From: "a@example.org", Rcpt: []string{"b@example.net"}},
		Stored:   &journal.Stored{Size: len(raw)},
		DNS: []resolver.Exchange{
			{Name: "1.2.0.192.in-addr.arpa.", Type: "PTR", Rcode: "success", Records: []string{"1.2.0.192.in-addr.arpa. 60 IN PTR h.example."}},
			{Name: "h.example.", Type: "A", Rcode: "success", Records: []string{"h.example. 60 IN A 192.0.2.1"}},
			{Name: "h.example.", Type: "AAAA", Rcode: "nodata"},
		}}
	if err := j.Append(rec, raw); err != nil {
		t.Fatal(err)
	}
	recs, _ := journal.Find(dir, journal.Query{}, nil)
	out, err := Record(context.Background(), recs[0], Options{Dir: dir, Pipeline: load(t, newRules).Pipeline})
	if err != nil {
		t.Fatal(err)
	}
	if out.Verdict.Action != "discard" || out.NoBody || len(out.Unrecorded) != 0 || len(out.Rules) != 1 || !strings.HasSuffix(out.Rules[0].File, "inbound.yaml") {
		t.Errorf("replay: %+v", out)
	}
}
