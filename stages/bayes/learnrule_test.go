package bayes

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
)

// learnRules autolearn only where a rule says so: no thresholds, so the
// score alone learns nothing, and the guards are the block's.
const learnRules = `pipeline: inbound
stages:
  bayes: {model: rule.model, min_learns: 5, autolearn: {per_sender: 3, window: 72h}}
rules:
  - name: teach-offers
    when: bayes.trained and msg.subject contains "offer"
    learn: spam
  - name: teach-project
    when: 'msg.subject startsWith "Re: project"'
    learn: ham
`

// learnRuleTests check the verdict's learn: as a user's *_test.yaml does.
const learnRuleTests = `pipeline: inbound
tests:
  - name: an offer is learnt as spam
    raw: "From: promo@deals.example\r\nSubject: Amazing offer 1\r\n\r\ncheap pills offer\r\n"
    expect: {learn: spam, rules: [teach-offers]}
  - name: other mail is not learnt
    raw: "From: a@b.example\r\nSubject: lunch\r\n\r\nat noon\r\n"
    expect: {learn: none}
  - name: a wrong expectation fails
    raw: "From: promo@deals.example\r\nSubject: Amazing offer 2\r\n\r\ncheap pills offer\r\n"
    expect: {learn: ham}
`

// TestRuleLearn: a rule's learn: teaches the model through the
// autolearner, in the server's live rule set and for real mail only, and
// within the same guards as the thresholds: a campaign moves the model by
// at most the sender's cap, and a user's correction within the window
// rolls the learn back. A message no rule names is not learnt, however
// sure the model is of it.
func TestRuleLearn(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "inbound.yaml"), []byte(learnRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "inbound_test.yaml"), []byte(learnRuleTests), 0o644); err != nil {
		t.Fatal(err)
	}
	var set *rules.Set
	load := func(learn bool) (*engine.Pipeline, *Stage) {
		t.Helper()
		var err error
		if set, err = rules.Load(rulesDir, rules.Options{DataDir: dir, Learn: learn}); err != nil {
			t.Fatal(err)
		}
		p := set.Pipeline(rules.Inbound)
		return p, p.Stages["bayes"].(*Stage)
	}
	p, st := load(true)
	live := set
	if st.Autolearner() == nil {
		t.Fatal("the live set has no autolearner")
	}
	m := st.Model()
	if err := train(m, 0, 50); err != nil {
		t.Fatal(err)
	}
	deliver := func(p *engine.Pipeline, raw []byte, opts ...engine.TxOption) engine.Verdict {
		t.Helper()
		v := p.Begin(engine.NewMessage(engine.Envelope{MailFrom: "promo@deals.example"}, raw), opts...).Evaluate(context.Background(), engine.PhaseData)
		if v.Err != nil {
			t.Fatal(v.Err)
		}
		return v
	}
	stats := func() Stats { s, _ := m.Stats(); return s }
	before := stats()

	// Looking is not learning: a rule test (a reload runs them through the
	// live set), a try or a dry run.
	for _, r := range live.RunTests(context.Background()) {
		want := r.Case.Name == "a wrong expectation fails"
		if got := !r.Passed(); got != want || want && !strings.Contains(strings.Join(r.Failures, " "), "learn: expected ham, got spam") {
			t.Errorf("rule test %q: failures %q", r.Case.Name, r.Failures)
		}
	}
	if got := stats(); got != before {
		t.Fatalf("the rule tests learnt: %+v -> %+v", before, got)
	}
	if v := deliver(p, campaign(0)); v.Learn != engine.LearnSpam {
		t.Fatalf("the rule did not fire: %+v", v)
	}
	if got := stats(); got.Spam != before.Spam {
		t.Fatalf("a transaction without WithLearning learnt: %+v -> %+v", before, got)
	}
	dry, dryStage := load(false)
	if dryStage.Autolearner() != nil {
		t.Fatal("a dry run's set has an autolearner")
	}
	deliver(dry, campaign(0), engine.WithLearning())
	if got := stats(); got.Spam != before.Spam {
		t.Fatalf("a dry run's set learnt: %+v -> %+v", before, got)
	}

	// A campaign of 50 from one sender: the cap of 3 holds.
	for i := range 50 {
		deliver(p, campaign(i), engine.WithLearning())
	}
	if got := stats(); got.Spam != before.Spam+3 {
		t.Errorf("a campaign of 50 with per_sender 3 learnt %d spam", got.Spam-before.Spam)
	}
	// A message no rule names, confident or not, is not learnt.
	sure := synthMessage(true, 9001)
	if s := spamScore(t, m, sure); s < 0.99 {
		t.Fatalf("the test spam scores %v; it needs a confident one", s)
	}
	mid := stats()
	if v := deliver(p, bytes.Replace(sure, []byte("Amazing offer"), []byte("Cheap pills"), 1), engine.WithLearning()); len(v.Fired) != 0 {
		t.Fatalf("rules fired on the unnamed message: %v", v.Rules())
	}
	if got := stats(); got != mid {
		t.Errorf("a message no rule names was learnt: %+v -> %+v", mid, got)
	}
	// learn: ham, from a sender with slots of its own.
	v := p.Begin(engine.NewMessage(engine.Envelope{MailFrom: "colleague@work.example"}, synthMessage(false, 9002)), engine.WithLearning()).Evaluate(context.Background(), engine.PhaseData)
	if got := stats(); v.Learn != engine.LearnHam || got.Ham != mid.Ham+1 {
		t.Errorf("learn: ham: verdict %q, ham %d -> %d", v.Learn, mid.Ham, got.Ham)
	}
	// The user takes campaign(1) out of Junk: the rule's learn is rolled
	// back and the message learnt as ham.
	afterHam := stats()
	if err := (Trainer{Model: m}).Learn(campaign(1), false); err != nil {
		t.Fatal(err)
	}
	if got := stats(); got.Spam != afterHam.Spam-1 || got.Ham != afterHam.Ham+1 {
		t.Errorf("the correction: %+v -> %+v, want one spam fewer and one ham more", afterHam, got)
	}
	if c := st.Autolearner().Counts(); c.Spam != 3 || c.Ham != 1 || c.RolledBack != 1 {
		t.Errorf("autolearn counts %+v, want 3 spam, 1 ham, 1 rolled back", c)
	}
}
