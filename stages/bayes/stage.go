package bayes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

func init() { stages.Register("bayes", New) }

// Settings is the `stages: {bayes: ...}` block of a rule file.
type Settings struct {
	// Model is the model file. A relative path is taken from the data
	// directory when there is one, else from the rule file's directory.
	// Default: bayes.model.
	Model string `yaml:"model"`
	// MinLearns is how many messages of each class the model must have
	// learnt before it decides anything (bayes.trained). Default 200.
	MinLearns int `yaml:"min_learns"`
	// MinTokens is how many of a message's tokens the model must have seen
	// before it scores the message: below it, bayes.spam stays 0.5, as a
	// few familiar words are too little to go on (rspamd's min_tokens).
	// bayes.known says how many there were. Default 0: every message is
	// scored, and thin evidence already scores near 0.5.
	MinTokens int `yaml:"min_tokens"`
	// MaxExplain is how many of the weightiest tokens bayes.tokens lists.
	// Default 10.
	MaxExplain int `yaml:"max_explain"`
	// Aging, when its max_learns is set, halves every count whenever the
	// messages learnt exceed it, so that old mail weighs less (aging.go).
	// It must be at least 4 × min_learns, so that a model of both classes
	// alike still has min_learns of each after halving. Not available
	// with the counts on Redis. Set by the server's live rule set only
	// (stages.Settings.Learn). Default: off.
	Aging AgingSettings `yaml:"aging"`
	// Autolearn, when set, learns the model's own confident verdicts (its
	// spam and ham thresholds) and what a rule's learn: asks, within its
	// guards: in the server's live rule set only
	// (stages.Settings.Learn), never in a dry run, a replay or a shadow
	// rule set, even one given the data directory to read the model from.
	Autolearn *AutolearnSettings `yaml:"autolearn"`
}

// Defaults of Settings.
const (
	DefaultModelFile  = "bayes.model"
	DefaultMinLearns  = 200
	DefaultMaxExplain = 10
)

// Stage fills the bayes facts from a shared Model.
type Stage struct {
	model      *Model
	auto       *Autolearner // nil: no autolearning here
	autolearn  bool         // an autolearn: block (Learns)
	minLearns  int
	minTokens  int
	maxExplain int
}

// New builds the stage from its settings, opening (or sharing) the model.
func New(s stages.Settings) (engine.Stage, error) {
	set := Settings{Model: DefaultModelFile, MinLearns: DefaultMinLearns, MaxExplain: DefaultMaxExplain}
	if err := s.Decode(&set); err != nil {
		return nil, fmt.Errorf("bayes settings: %w", err)
	}
	if set.MinLearns < 1 {
		return nil, fmt.Errorf("bayes settings: min_learns must be at least 1, not %d", set.MinLearns)
	}
	if set.MinTokens < 0 {
		return nil, fmt.Errorf("bayes settings: min_tokens must not be negative, not %d", set.MinTokens)
	}
	if set.Model == "" {
		return nil, errors.New("bayes settings: model must name a file")
	}
	if n := set.Aging.MaxLearns; n != 0 && n < 4*set.MinLearns {
		// After an aging at n the model holds about n/2 messages, n/4
		// of each class when they are alike: under min_learns, the
		// stage would stop deciding after every aging.
		return nil, fmt.Errorf("bayes settings: aging.max_learns must be 0 (off) or at least 4 × min_learns = %d, not %d", 4*set.MinLearns, n)
	}
	path := ModelPath(set.Model, s)
	m, err := OpenModel(path)
	if err != nil {
		return nil, err
	}
	// Only the server's live set sets the bound, on every load, so that a
	// reload of the rules that drops aging turns it off. The model is
	// shared by path (the Junk trainer's learns age it too), and a dry run
	// or a shadow set that read it must neither age it nor switch its
	// aging off; they only check that it can age.
	aging := m.checkAging
	if s.Learn {
		aging = m.SetAging
	}
	if err := aging(set.Aging.MaxLearns); err != nil {
		return nil, fmt.Errorf("bayes settings: %w", err)
	}
	st := &Stage{model: m, minLearns: set.MinLearns, minTokens: set.MinTokens, maxExplain: max(set.MaxExplain, 0), autolearn: set.Autolearn != nil}
	if set.Autolearn != nil {
		// Checked in a dry run too, which builds no autolearner.
		if _, err := NewAutolearner(m, *set.Autolearn); err != nil {
			return nil, err
		}
	}
	if set.Autolearn != nil && s.DataDir != "" && s.Learn {
		if st.auto, err = m.autolearnerFor(*set.Autolearn, path+autolearnLogSuffix); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// ModelPath resolves the model setting against the data directory, or the
// rule file's directory when there is none.
func ModelPath(p string, s stages.Settings) string {
	if filepath.IsAbs(p) {
		return p
	}
	if s.DataDir != "" {
		return filepath.Join(s.DataDir, p)
	}
	return filepath.Join(s.Dir, p)
}

// NewStage returns a stage over a model, for callers that built the model
// themselves.
func NewStage(m *Model, minLearns int) *Stage {
	return &Stage{model: m, minLearns: max(minLearns, 1), maxExplain: DefaultMaxExplain}
}

// Model returns the stage's model.
func (s *Stage) Model() *Model { return s.model }

// Autolearner returns the stage's autolearning guards, nil when it does
// not autolearn; the Junk trainer tells it of users' corrections.
func (s *Stage) Autolearner() *Autolearner { return s.auto }

// Namespace implements engine.Stage.
func (s *Stage) Namespace() string { return "bayes" }

// Phase implements engine.Stage: the message text is needed.
func (s *Stage) Phase() engine.Phase { return engine.PhaseData }

// Run implements engine.Stage. An untrained model reports trained false
// and a neutral 0.5, so that no rule can act on it by mistake; so does a
// message with fewer known tokens than min_tokens, with trained true.
func (s *Stage) Run(ctx context.Context, in *engine.Input) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := s.model.Classify(in.Msg)
	if err != nil {
		return err
	}
	f := &in.Facts.Bayes
	f.Result = "ok"
	f.Trained = res.NSpam >= s.minLearns && res.NHam >= s.minLearns
	f.Known = res.Known
	f.Spam, f.Ham = res.Spam, 1-res.Spam
	f.Tokens = nil
	if !f.Trained || res.Known < s.minTokens {
		f.Spam, f.Ham = 0.5, 0.5
		return nil
	}
	for i := 0; i < len(res.Clues) && i < s.maxExplain; i++ {
		f.Tokens = append(f.Tokens, res.Clues[i].Token)
	}
	return nil
}

// Learns implements engine.Learner: the stage is set up to autolearn
// (an autolearn: block), whether or not this rule set may (a dry run's
// has no autolearner).
func (s *Stage) Learns() bool { return s.autolearn }

// LearnVerdict implements engine.Learner: after the rules, a message the
// server takes is learnt as a rule's learn: says, or else by the
// autolearn thresholds if the model scored it. The guards are the
// autolearner's either way.
func (s *Stage) LearnVerdict(in *engine.Input, class string) {
	if s.auto == nil {
		return
	}
	raw, sender, now := in.Msg.Raw, in.Msg.Envelope.MailFrom, time.Now()
	var err error
	switch class {
	case engine.LearnSpam:
		_, err = s.auto.Learn(raw, Spam, sender, now)
	case engine.LearnHam:
		_, err = s.auto.Learn(raw, Ham, sender, now)
	default:
		if f := in.Facts.Bayes; f.Result == "ok" && f.Trained && f.Known >= s.minTokens {
			_, err = s.auto.Consider(raw, f.Spam, sender, now)
		}
	}
	if err != nil {
		slog.Warn("bayes autolearn", "err", err) // the verdict stands; only the learning failed
	}
}

// Fail implements engine.Stage: a failed classification (the counts on
// Redis out of reach) decides nothing, and says so as DNS checks do.
func (s *Stage) Fail(f *engine.Facts, err error) {
	f.Bayes = engine.BayesFacts{Spam: 0.5, Ham: 0.5, Result: "temperror"}
}
