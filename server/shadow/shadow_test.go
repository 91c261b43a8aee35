package shadow

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/server/journal"
)

type memJournal struct {
	mu   sync.Mutex
	recs []*journal.Record
}

func (m *memJournal) Append(r *journal.Record, _ []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, r)
	return nil
}

// TestDisagreementsCountedAndJournalled: the shadow verdict is computed
// from the live record and the message text; only disagreements are
// counted and journalled, with both verdicts.
func TestDisagreementsCountedAndJournalled(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inbound.yaml"), []byte("pipeline: inbound\nrules:\n  - name: offers\n    when: msg.subject contains \"offer\"\n    action: junk\n"), 0o644)
	set, err := rules.Load(dir, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := &memJournal{}
	s := New(Options{Pipeline: set.Pipeline, Journal: j})
	live := func(id string) *journal.Record {
		return &journal.Record{ID: id, Pipeline: "inbound", Action: "accept", Phase: "data",
			Conn: journal.Conn{IP: "192.0.2.1", Listener: "smtp"}, Envelope: journal.Envelope{From: "a@example.org", Rcpt: []string{"b@example.net"}}}
	}
	s.Consider(live("A"), []byte("Subject: a great offer\r\n\r\nx\r\n"))
	s.Consider(live("B"), []byte("Subject: lunch\r\n\r\nx\r\n"))
	s.Consider(live("C"), nil) // refused before DATA: no text, the shadow rule cannot fire
	s.Wait()
	if got := s.Disagreements(); len(got) != 1 || got[Pair{"accept", "junk"}] != 1 || s.Evaluated() != 3 {
		t.Fatalf("disagreements %v, evaluated %d", got, s.Evaluated())
	}
	if len(j.recs) != 1 || j.recs[0].Kind != Kind || j.recs[0].Of != "A" || j.recs[0].Shadow.Action != "junk" ||
		j.recs[0].Shadow.Rules[0].Name != "offers" || j.recs[0].Shadow.RuleSet != set.Version() {
		t.Fatalf("journalled: %+v", j.recs)
	}
	var b strings.Builder
	s.WriteMetrics(&b)
	if !strings.Contains(b.String(), `sluice_shadow_disagreements_total{live="accept",shadow="junk"} 1`) {
		t.Errorf("metrics:\n%s", b.String())
	}
}
