package bayes

import (
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sluicemail/sluice/engine"
)

// Model is a tokenizer, a store of counts and a scorer: what the stage
// classifies with and what the trainer and the IMAP Junk folder teach. It
// is safe for concurrent use: many sessions classify while training goes on.
type Model struct {
	store  Store
	opts   Options
	params Params
	lr     LROptions
	saver  saver

	autoMu sync.Mutex
	auto   *Autolearner // set by a stage that autolearns (autolearn.go)
}

// NewModel returns a model over store with the default tokenizer, scorer
// and logistic regression.
func NewModel(store Store) *Model {
	return &Model{store: store, opts: DefaultOptions, params: DefaultParams, lr: DefaultLR}
}

// NewModelWith returns a model with a chosen tokenizer and scorer and no
// logistic regression (the Fisher score alone); the accuracy benchmark
// uses it to measure each choice.
func NewModelWith(store Store, o Options, p Params) *Model {
	return &Model{store: store, opts: o, params: p}
}

// NewModelLR is NewModelWith with a chosen logistic regression beside the
// counts.
func NewModelLR(store Store, o Options, p Params, lr LROptions) *Model {
	return &Model{store: store, opts: o, params: p, lr: lr}
}

var registry = struct {
	sync.Mutex
	models map[string]*Model
	shared map[string]sharedDir // data directories whose counts are on Redis (shared.go)
}{models: map[string]*Model{}, shared: map[string]sharedDir{}}

// OpenModel returns the model kept in the file at path, creating an empty
// one if the file does not exist yet (its counts on Redis when the file's
// directory shares them: ShareCounts). Every caller in the process that
// names the same file gets the same Model, so that the stage and the Junk
// trainer see the same counts.
func OpenModel(path string) (*Model, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("bayes model %s: %w", path, err)
	}
	registry.Lock()
	defer registry.Unlock()
	if m := registry.models[abs]; m != nil {
		return m, nil
	}
	s, err := openStore(abs)
	if err != nil {
		return nil, err
	}
	m := NewModel(s)
	registry.models[abs] = m
	if st, err := s.Stats(); err == nil && st.Spam+st.Ham > 0 && st.Tokenizer != TokenizerVersion {
		// Still usable: tokens it never saw weigh nothing. But the
		// scores drift from what was measured, and unlearning subtracts
		// tokens the message may not have added, so say so once.
		slog.Warn("bayes model trained with another tokenizer; it still classifies, retrain it for the best accuracy",
			"path", abs, "model_tokenizer", st.Tokenizer, "tokenizer", TokenizerVersion)
	}
	return m, nil
}

// Store returns the model's store.
func (m *Model) Store() Store { return m.store }

// Tokens returns the tokens the model sees in a raw message.
func (m *Model) Tokens(raw []byte) []string {
	return m.opts.Tokenize(engine.NewMessage(engine.Envelope{}, TrimFromLine(raw)))
}

// change is what learning or unlearning raw changes: its tokens, and its
// features for the logistic regression when that is on.
func (m *Model) change(raw []byte) Change {
	raw = TrimFromLine(raw)
	toks := m.opts.Tokenize(engine.NewMessage(engine.Envelope{}, raw))
	c := Change{Digest: DigestOf(raw), Tokens: toks}
	if m.lr.On {
		c.Features = m.lr.features(raw, toks)
	}
	return c
}

// Learn teaches the model that raw is of class. learnt is false when the
// same message was already learnt as that class; learning it as the other
// class moves it. Call Save to make it durable.
func (m *Model) Learn(raw []byte, class Class) (learnt bool, err error) {
	if class != Spam && class != Ham {
		return false, fmt.Errorf("bayes: cannot learn as %v", class)
	}
	c := m.change(raw)
	c.Class = class
	if m.lr.On {
		// Logistic regression's gradient step: the further the
		// regression's own score is from the truth, the larger.
		sum, err := m.store.Margin(c.Features)
		if err != nil {
			return false, fmt.Errorf("bayes weights: %w", err)
		}
		y := 0.0
		if class == Spam {
			y = 1
		}
		c.Step = float32(m.lr.step(sum, len(c.Features), y))
	}
	return m.store.Apply(c)
}

// Correct teaches the model that raw is of class because a user said so:
// the model had it wrong. It learns it as Learn does; a message rescued
// from Junk (ham) is then trained until the model would score it clearly
// ham (train until right, as DSPAM's and SpamAssassin's "TUNE"): a ham
// junked is the costly mistake, one user correction is strong evidence,
// and the next message of its kind should show it. Spam a user moves into
// Junk is learnt once: training spam until right flagged more ham on the
// online benchmark (bench/bayes/README.md). The whole step is remembered,
// so unlearning takes it all back.
func (m *Model) Correct(raw []byte, class Class) (learnt bool, err error) {
	if class != Ham || !m.lr.On {
		return m.Learn(raw, class)
	}
	c := m.change(raw)
	c.Class = class
	res, err := m.ClassifyTokens(c.Tokens)
	if err != nil {
		return false, err
	}
	sum, err := m.store.Margin(c.Features)
	if err != nil {
		return false, fmt.Errorf("bayes weights: %w", err)
	}
	step := m.lr.step(sum, len(c.Features), 0)
	// The combined log-odds after a step d on each of the message's n
	// features (each worth s) is z + n·d·s; take the step that lands on
	// the target if it is the larger.
	if n := len(c.Features); n > 0 {
		s := m.lr.scale(n)
		z := m.lr.join(sum*s, res.Fisher, res.KnownShare())
		step = min(step, (logit(correctHam)-z)/(float64(n)*s))
	}
	c.Step = float32(step)
	return m.store.Apply(c)
}

// correctHam is what a message rescued from Junk is trained to score: as
// clearly ham as the example rules' bayes-ham rule reads it.
const correctHam = 0.01

// Unlearn removes a message learnt earlier, whatever it was learnt as (a
// user moved it out of Junk, or into it by mistake). unlearnt is false when
// the message was never learnt.
func (m *Model) Unlearn(raw []byte) (unlearnt bool, err error) {
	c := m.change(raw)
	c.Unlearn = true
	return m.store.Apply(c)
}

// Save makes the changes durable.
func (m *Model) Save() error { return m.store.Save() }

// Stats reports what the model has learnt.
func (m *Model) Stats() (Stats, error) { return m.store.Stats() }

// Result is the model's opinion of one message.
type Result struct {
	Spam        float64 // 0..1; 0.5 when the evidence is thin or conflicting
	Fisher      float64 // the counts' score alone (Fisher's method)
	Margin      float64 // the logistic regression's log-odds (0 when it is off or has learnt nothing)
	NSpam, NHam int     // messages learnt per class when it was computed
	Known       int     // the message's tokens the model has seen at least once
	Tokens      int     // the message's tokens
	Clues       []Clue  // the strongest tokens that took part, strongest first, at most 20
}

// KnownShare is the share of the message's tokens the model has seen (0
// for a message of no tokens).
func (r Result) KnownShare() float64 {
	if r.Tokens == 0 {
		return 0
	}
	return float64(r.Known) / float64(r.Tokens)
}

// maxClues is how many clues a Result lists.
const maxClues = 20

// Classify scores a message.
func (m *Model) Classify(msg *engine.Message) (Result, error) {
	if len(msg.Raw) > 5 && string(msg.Raw[:5]) == "From " {
		msg = engine.NewMessage(msg.Envelope, TrimFromLine(msg.Raw))
	}
	// The tokens and features are only read here: both are pooled.
	toks := m.opts.borrowTokens(msg)
	defer toks.giveBack()
	res, err := m.ClassifyTokens(toks.list)
	for i := range res.Clues {
		// A clue is kept (the stage's facts): not its token's arena.
		res.Clues[i].Token = strings.Clone(res.Clues[i].Token)
	}
	if err != nil || !m.lr.On {
		return res, err
	}
	feats := m.lr.featureSet(msg.Raw, toks.list)
	sum, err := m.store.Margin(feats.list)
	n := len(feats.list)
	feats.release()
	if err != nil {
		return res, fmt.Errorf("bayes weights: %w", err)
	}
	margin := sum * m.lr.scale(n)
	// The two learners join in log-odds. With no weights learnt yet (a
	// model from before the regression) the score is Fisher's alone.
	res.Margin = margin
	if margin != 0 {
		res.Spam = sigmoid(m.lr.join(margin, res.Fisher, res.KnownShare()))
	}
	return res, nil
}

// ClassifyTokens scores a message already tokenized with the model's
// options.
func (m *Model) ClassifyTokens(tokens []string) (Result, error) {
	sc := getScratch(len(tokens))
	defer sc.put()
	spam, ham := sc.spam, sc.ham
	nspam, nham, err := m.store.Counts(tokens, spam, ham)
	if err != nil {
		return Result{Spam: 0.5}, fmt.Errorf("bayes counts: %w", err)
	}
	clues := sc.clues
	known := 0
	for i, t := range tokens {
		if spam[i]+ham[i] > 0 {
			known++
		} else if math.Abs(m.params.Unknown-0.5) < m.params.MinStrength {
			continue // never seen: its prior would be dropped by combine anyway
		}
		clues = append(clues, Clue{Token: t, Prob: m.params.tokenProb(spam[i], ham[i], nspam, nham)})
	}
	sc.clues = clues
	score, top := m.params.combineIn(sc.strong, clues, maxClues)
	return Result{Spam: score, Fisher: score, NSpam: nspam, NHam: nham, Known: known, Tokens: len(tokens), Clues: top}, nil
}

// EncodedSize returns the bytes the model's counts take when saved, or an
// error when its store cannot tell.
func (m *Model) EncodedSize() (int, error) {
	if s, ok := m.store.(interface{ EncodedSize() (int, error) }); ok {
		return s.EncodedSize()
	}
	return 0, fmt.Errorf("bayes: the %T store cannot tell its size", m.store)
}
