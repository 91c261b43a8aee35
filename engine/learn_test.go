package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// learnStage is a Learner that records what it is told.
type learnStage struct {
	learns bool
	mu     sync.Mutex
	told   []string
}

func (*learnStage) Namespace() string                        { return "bayes" }
func (*learnStage) Phase() Phase                             { return PhaseData }
func (*learnStage) Run(ctx context.Context, in *Input) error { return nil }
func (*learnStage) Fail(f *Facts, err error)                 {}
func (s *learnStage) Learns() bool                           { return s.learns }
func (s *learnStage) LearnVerdict(in *Input, class string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(in.Msg.Raw) == 0 {
		class = "called without a message to learn"
	}
	s.told = append(s.told, class)
}

// TestLearnersToldOnce: the stages that learn hear the DATA verdict of
// mail the server takes (WithLearning) once, with the last fired rule's
// learn:, and nothing of a dry run's, an earlier phase's, a tempfail's
// or a rule error's.
func TestLearnersToldOnce(t *testing.T) {
	when := func(src string) *Compiled {
		c, err := Compile(src, true)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	raw := []byte("Subject: offers\r\n\r\nbuy now\r\n")
	for _, c := range []struct {
		name  string
		rules []*Rule
		opts  []TxOption
		learn bool
		want  []string
	}{
		{"a rule's learn:", []*Rule{{Name: "a", When: when(`msg.subject == "offers"`), Learn: LearnHam}, {Name: "b", When: when(`msg.subject == "offers"`), Learn: LearnSpam}},
			[]TxOption{WithLearning()}, true, []string{LearnSpam}},
		{"no rule says: the stage's own choice", []*Rule{{Name: "a", When: when(`msg.subject == "other"`), Learn: LearnSpam, Score: 1}},
			[]TxOption{WithLearning()}, true, []string{""}},
		{"a dry run", []*Rule{{Name: "a", Learn: LearnSpam}}, nil, true, nil},
		{"a stage not set up to learn", []*Rule{{Name: "a", Learn: LearnSpam}}, []TxOption{WithLearning()}, false, nil},
		{"tempfail", []*Rule{{Name: "a", Learn: LearnSpam}, {Name: "t", Action: Action{Kind: ActionTempfail}}}, []TxOption{WithLearning()}, true, nil},
		{"a rule error", []*Rule{{Name: "a", Learn: LearnSpam}, {Name: "e", When: when(`int(msg.subject) > 0`), Score: 1}}, []TxOption{WithLearning()}, true, nil},
	} {
		st := &learnStage{learns: c.learn}
		p := &Pipeline{Rules: c.rules, Stages: map[string]Stage{"bayes": st}}
		if err := p.Prepare(); err != nil {
			t.Fatal(err)
		}
		m := NewMessage(Envelope{}, nil)
		tx := p.Begin(m, c.opts...)
		for _, ph := range []Phase{PhaseConnect, PhaseMail, PhaseRcpt} {
			tx.Evaluate(context.Background(), ph)
		}
		if len(st.told) != 0 {
			t.Errorf("%s: told %q before DATA", c.name, st.told)
		}
		m.SetRaw(raw)
		v := tx.Evaluate(context.Background(), PhaseData)
		tx.Evaluate(context.Background(), PhaseData) // a second look tells nobody again
		if !slices.Equal(st.told, c.want) {
			t.Errorf("%s: told %q, want %q (verdict %s, learn %q, err %v)", c.name, st.told, c.want, v.Action, v.Learn, v.Err)
		}
	}
}
