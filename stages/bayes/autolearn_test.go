package bayes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// campaign is message n of one spam run: the same offer from one sender,
// a few words changed each time.
func campaign(n int) []byte {
	return fmt.Appendf(nil, "From: promo@deals.example\r\nTo: me@home.example\r\nSubject: Amazing offer %d\r\n"+
		"Message-ID: <c%d@deals.example>\r\n\r\ncheap pills offer viagra winner lottery prize claim free money %d casino bonus click\r\n", n, n, n)
}

func trainedModel(t *testing.T) *Model {
	t.Helper()
	m := NewModel(NewMemoryStore())
	if err := train(m, 0, 100); err != nil {
		t.Fatal(err)
	}
	return m
}

func spamScore(t *testing.T, m *Model, raw []byte) float64 {
	t.Helper()
	r, err := m.Classify(engine.NewMessage(engine.Envelope{}, raw))
	if err != nil {
		t.Fatal(err)
	}
	return r.Spam
}

// TestAutolearnCampaignCapped: 500 near-identical spams from one sender,
// all confident, move the model by at most the cap; another sender still
// has its own slots, and the period frees them again.
func TestAutolearnCampaignCapped(t *testing.T) {
	m := trainedModel(t)
	a, err := NewAutolearner(m, AutolearnSettings{Spam: 0.99, Ham: 0.01, PerSender: 20, Period: "24h"})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := m.Stats()
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	learnt := 0
	for i := range 500 {
		raw := campaign(i)
		s := spamScore(t, m, raw)
		if s < 0.99 {
			t.Fatalf("campaign message %d scores %v; the test needs confident spam", i, s)
		}
		c, err := a.Consider(raw, s, "bounce-"+fmt.Sprint(i)+"@Deals.example", now.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if c == Spam {
			learnt++
		}
	}
	after, _ := m.Stats()
	if learnt != 20 || after.Spam-before.Spam != 20 || after.Ham != before.Ham {
		t.Fatalf("learnt %d of the campaign; model went from %+v to %+v; want exactly the cap of 20", learnt, before, after)
	}
	// Another domain is not held back by the first one's campaign.
	if c, _ := a.Consider(synthMessage(true, 9000), 0.999, "x@other.example", now); c != Spam {
		t.Error("a message from another domain was not learnt")
	}
	// Unsure scores are never learnt.
	if c, _ := a.Consider(synthMessage(true, 9001), 0.5, "y@third.example", now); c != 0 {
		t.Error("an unsure message was learnt")
	}
	// A day later the campaign's domain has slots again.
	if c, _ := a.Consider(campaign(600), 0.999, "promo@deals.example", now.Add(25*time.Hour)); c != Spam {
		t.Error("the cap did not reopen after its period")
	}
}

// TestAutolearnCorrectionRollsBack: a message autolearnt as spam and
// moved out of Junk within the window (the delivered copy, with the
// server's header fields on top) is unlearnt and frees its slot; after
// the window the correction no longer rolls back.
func TestAutolearnCorrectionRollsBack(t *testing.T) {
	m := trainedModel(t)
	a, err := NewAutolearner(m, AutolearnSettings{Spam: 0.99, PerSender: 1, Window: "72h"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	raw := campaign(1)
	before, _ := m.Stats()
	if c, err := a.Consider(raw, 0.999, "promo@deals.example", now); c != Spam || err != nil {
		t.Fatalf("not learnt: %v %v", c, err)
	}
	delivered := append([]byte("Return-Path: <promo@deals.example>\r\nReceived: from x by mx.example.net\r\nX-Spam-Flag: YES\r\n"), raw...)
	ok, err := a.Corrected(delivered, now.Add(48*time.Hour))
	if !ok || err != nil {
		t.Fatalf("correction within the window: rolled back %v, %v", ok, err)
	}
	if st, _ := m.Stats(); st != before {
		t.Errorf("after the rollback the model is %+v, want %+v", st, before)
	}
	// The slot is free again (the cap is 1).
	if c, _ := a.Consider(campaign(2), 0.999, "promo@deals.example", now.Add(49*time.Hour)); c != Spam {
		t.Error("the rolled-back learn still holds its sender's slot")
	}
	// Past the window, the correction finds nothing to roll back.
	if ok, _ := a.Corrected(campaign(2), now.Add(49*time.Hour+73*time.Hour)); ok {
		t.Error("a correction after the window rolled back")
	}
	// Through the Trainer, as the mail store calls it on a move.
	if c, _ := a.Consider(campaign(3), 0.999, "other@else.example", now.Add(200*time.Hour)); c != Spam {
		t.Fatal("not learnt")
	}
	mid, _ := m.Stats()
	tr := Trainer{Model: m, Auto: a}
	if err := tr.Learn(campaign(3), false); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Stats(); st.Spam != mid.Spam-1 || st.Ham != mid.Ham+1 {
		t.Errorf("moving the autolearnt message out of Junk: %+v from %+v, want one spam fewer and one ham more", st, mid)
	}
}

func TestAutolearnSettingsChecked(t *testing.T) {
	m := NewModel(NewMemoryStore())
	for _, s := range []AutolearnSettings{
		{Spam: 0.5, Ham: 0.6},
		{Spam: 1.5},
		{PerSender: -1},
		{Spam: 0.99, Window: "soon"},
		{Spam: 0.99, Period: "-1h"},
	} {
		if _, err := NewAutolearner(m, s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	if _, err := NewAutolearner(m, AutolearnSettings{Spam: 0.999, Ham: 0.001}); err != nil {
		t.Error(err)
	}
	if !strings.Contains(senderDomain("<A@B.Example>"), "b.example") {
		t.Error("senderDomain")
	}
}

// TestStageAutolearns: with `autolearn:` the stage learns what it is
// sure of only in the server's live rule set (a data directory and
// stages.Settings.Learn) and only from real mail (engine.WithLearning).
// A dry run given the data directory to read the model from (sluice
// check --data, replay, a shadow set) has no autolearner, and a
// transaction without WithLearning (a rule test run at a reload, a
// console try) learns nothing even in the live set.
func TestStageAutolearns(t *testing.T) {
	for _, c := range []struct {
		name           string
		dataDir, learn bool
		tx             []engine.TxOption
		autolearner    bool
		wantLearnt     int
	}{
		{"server, real mail", true, true, []engine.TxOption{engine.WithLearning()}, true, 1},
		{"server, a rule test or a try", true, true, nil, true, 0},
		{"dry run with the data directory", true, false, []engine.TxOption{engine.WithLearning()}, false, 0},
		{"dry run", false, false, []engine.TxOption{engine.WithLearning()}, false, 0},
	} {
		dir := t.TempDir()
		set := stages.Settings{Raw: []byte("model: auto.model\nmin_learns: 5\nautolearn: {spam: 0.99, ham: 0.01, per_sender: 5}\n"), Dir: dir, Learn: c.learn}
		if c.dataDir {
			set.DataDir = dir
		}
		s, err := stages.New("bayes", set)
		if err != nil {
			t.Fatal(err)
		}
		st := s.(*Stage)
		if (st.Autolearner() != nil) != c.autolearner {
			t.Fatalf("%s: autolearner %v", c.name, st.Autolearner())
		}
		if err := train(st.Model(), 0, 50); err != nil {
			t.Fatal(err)
		}
		before, _ := st.Model().Stats()
		f, _ := evaluate(t, st, synthMessage(true, 4000), c.tx...)
		after, _ := st.Model().Stats()
		if f.Spam < 0.99 {
			t.Fatalf("the test spam scores %v; it needs a confident one", f.Spam)
		}
		if learnt := after.Spam - before.Spam; learnt != c.wantLearnt {
			t.Errorf("%s: score %v, learnt %d, want %d", c.name, f.Spam, learnt, c.wantLearnt)
		}
		if _, err := os.Stat(filepath.Join(dir, "auto.model"+autolearnLogSuffix)); c.autolearner != (err == nil) {
			t.Errorf("%s: autolearn log: %v", c.name, err)
		}
	}
}

// TestAutolearnSurvivesReload: a reload of the rules builds the stage
// again; the model keeps one autolearner (the same one for the same
// settings, a successor holding the records for new ones), so a user's
// correction after the reload still rolls back what was learnt before it.
func TestAutolearnSurvivesReload(t *testing.T) {
	dir := t.TempDir()
	build := func(perSender int) *Stage {
		t.Helper()
		s, err := stages.New("bayes", stages.Settings{DataDir: dir, Learn: true,
			Raw: fmt.Appendf(nil, "model: reload.model\nmin_learns: 5\nautolearn: {spam: 0.99, per_sender: %d}\n", perSender)})
		if err != nil {
			t.Fatal(err)
		}
		return s.(*Stage)
	}
	first := build(5)
	if again := build(5); again.Autolearner() != first.Autolearner() {
		t.Error("the same settings gave another autolearner")
	}
	m := first.Model()
	if err := train(m, 0, 50); err != nil {
		t.Fatal(err)
	}
	raw := campaign(1)
	if c, _ := first.Autolearner().Consider(raw, 0.999, "promo@deals.example", time.Now()); c != Spam {
		t.Fatal("not autolearnt")
	}
	before, _ := m.Stats()
	second := build(7) // the rules changed
	if second.Autolearner() == first.Autolearner() || m.Autolearner() != second.Autolearner() {
		t.Fatal("new settings did not give the model a new autolearner")
	}
	if err := (Trainer{Model: m}).Learn(raw, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Stats(); st.Spam != before.Spam-1 || st.Ham != before.Ham+1 {
		t.Errorf("after the reload a correction gave %+v from %+v: the autolearn was not rolled back", st, before)
	}
}

// TestAutolearnSurvivesRestart: the stage's autolearner keeps its records
// in a log beside the model, so after a restart (a new process: a new
// Model over the same file) a user's correction still rolls back what was
// learnt automatically before it, and a campaign's cap still holds. A
// line the log cannot read is skipped; the others still count.
func TestAutolearnSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/restart.model"
	set := AutolearnSettings{Spam: 0.99, PerSender: 1, Period: "24h", Window: "72h"}
	open := func() (*Model, *Autolearner) {
		t.Helper()
		fs, err := OpenFileStore(path)
		if err != nil {
			t.Fatal(err)
		}
		m := NewModel(fs)
		a, err := m.autolearnerFor(set, path+autolearnLogSuffix)
		if err != nil {
			t.Fatal(err)
		}
		return m, a
	}
	m, a := open()
	if err := train(m, 0, 50); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw := campaign(1)
	if c, err := a.Consider(raw, 0.999, "promo@deals.example", now); c != Spam || err != nil {
		t.Fatalf("not autolearnt: %v %v", c, err)
	}
	if c, _ := a.Consider(campaign(2), 0.999, "x@other.example", now); c != Spam {
		t.Fatal("not autolearnt")
	}
	if ok, err := a.Corrected(campaign(2), now); !ok || err != nil {
		t.Fatalf("rollback before the restart: %v %v", ok, err)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path+autolearnLogSuffix, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("learn nothex 1 2 x\ngarbage\n")
	f.Close()

	m2, a2 := open() // the restart
	before, _ := m2.Stats()
	if got := len(a2.learnt); got != 1 {
		t.Errorf("after the restart %d records, want 1 (one learnt, one rolled back, two bad lines)", got)
	}
	if c, _ := a2.Consider(campaign(3), 0.999, "promo@deals.example", now.Add(time.Hour)); c != 0 {
		t.Error("after the restart the sender's cap of 1 was forgotten")
	}
	delivered := append([]byte("Received: from x by mx.example.net\r\nX-Spam-Flag: YES\r\n"), raw...)
	if err := (Trainer{Model: m2}).Learn(delivered, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := m2.Stats(); st.Spam != before.Spam-1 || st.Ham != before.Ham+1 {
		t.Errorf("a correction after the restart gave %+v from %+v: the autolearn was not rolled back", st, before)
	}
	// The rollback is in the log too: a second restart does not bring it back.
	_, a3 := open()
	if got := len(a3.learnt); got != 0 {
		t.Errorf("after a second restart %d records, want 0", got)
	}
}

// TestAutolearnLogCompacts: learns rolled back again and again leave the
// log no larger than what is still live (plus its slack), so a server
// that never restarts does not grow it for ever.
func TestAutolearnLogCompacts(t *testing.T) {
	path := t.TempDir() + "/compact.model"
	m := trainedModel(t)
	a, err := m.autolearnerFor(AutolearnSettings{Spam: 0.99, PerSender: 1}, path+autolearnLogSuffix)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 700 {
		raw := campaign(i)
		if c, err := a.Consider(raw, 0.999, fmt.Sprintf("a@d%d.example", i), now); c != Spam || err != nil {
			t.Fatalf("message %d not autolearnt: %v %v", i, c, err)
		}
		if ok, err := a.Corrected(raw, now); !ok || err != nil {
			t.Fatalf("message %d not rolled back: %v %v", i, ok, err)
		}
	}
	b, err := os.ReadFile(path + autolearnLogSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 1024 {
		t.Errorf("the log holds %d lines for no live record", n)
	}
}
