package bayes

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jbrukh/bayesian"
)

// Aging makes old mail weigh less in the counts. The logistic regression
// forgets by itself (each step moves the weights towards the latest
// mail), but a token count learnt three years ago weighs what today's
// does. When the messages learnt (spam + ham) exceed a bound, every token
// count and both totals are halved, as SpamAssassin's expiry by size,
// DSPAM's purge and CRM114's microgrooming do: what was learnt before
// then now counts half, what before the aging before that a quarter, and
// a token whose counts both fall to 0 is dropped, which bounds the model.
// It needs nothing new in the model file: an aged model is its halved
// counts. Every token's spam and ham counts and the totals are halved
// together, so a token's spam share (what the scorer reads) stays about
// what it was; only its weight of evidence shrinks.

// AgingSettings is the `aging:` block of the bayes stage's settings.
type AgingSettings struct {
	// MaxLearns is the bound: when the messages learnt, spam and ham,
	// exceed it, every count is halved (until they no longer exceed it,
	// for a model trained far past it before aging was set). 0 or absent:
	// the counts never age.
	MaxLearns int `yaml:"max_learns"`
}

// errAgingShared is why a model whose counts are on Redis cannot age.
var errAgingShared = errors.New("bayes: aging is not available when the counts are shared on Redis: " +
	"halving them is a pass over every token of the shared hash, which either blocks Redis for every node " +
	"(one script) or races with the other nodes' learns (in steps); remove aging or the Redis sharing")

// SetAging makes the model halve its counts whenever the messages learnt
// exceed maxLearns; 0 turns aging off. A model whose counts are on Redis
// refuses any other bound (errAgingShared).
func (m *Model) SetAging(maxLearns int) error {
	if err := m.checkAging(maxLearns); err != nil {
		return err
	}
	if s, ok := m.store.(*FileStore); ok {
		s.setAging(maxLearns)
	}
	return nil
}

// checkAging is SetAging's refusal without its effect, for a rule set
// that reads the model and must not change it.
func (m *Model) checkAging(maxLearns int) error {
	if maxLearns < 0 {
		return fmt.Errorf("bayes: aging bound must not be negative, not %d", maxLearns)
	}
	if maxLearns == 0 {
		return nil
	}
	switch m.store.(type) {
	case *FileStore:
		return nil
	case *RedisStore, *RedisBatch:
		return errAgingShared
	}
	return fmt.Errorf("bayes: the %T store cannot age its counts", m.store)
}

// setAging sets the bound, and ages the counts at once if they are over
// it already (a model trained before aging was set), so that what the
// store holds always keeps to its bound.
func (s *FileStore) setAging(maxLearns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxLearns = maxLearns
	s.ageLocked()
}

// ageLocked ages the counts when they exceed the bound, and logs it; the
// caller holds the write lock.
func (s *FileStore) ageLocked() {
	start := time.Now()
	if r, ok := s.st.ageOver(s.maxLearns); ok {
		// took is how long classification waited on the lock.
		slog.Info("bayes counts aged: old mail now weighs less",
			"path", s.path, "halvings", r.shift, "took", time.Since(start).Round(time.Millisecond),
			"tokens_before", r.tokensBefore, "tokens_after", r.tokensAfter,
			"spam_before", r.spamBefore, "ham_before", r.hamBefore,
			"spam", r.spamAfter, "ham", r.hamAfter, "max_learns", s.maxLearns)
	}
}

// agingReport says what one aging did.
type agingReport struct {
	shift                     int // halvings: every count was divided by 2^shift
	tokensBefore, tokensAfter int
	spamBefore, hamBefore     int
	spamAfter, hamAfter       int
}

// ageOver halves the counts, as many times as it takes for the messages
// learnt to be at most maxLearns, when they are over it (maxLearns 0:
// never). The classifier, which is saved, is rebuilt from its own halved
// counts without the tokens that fell to 0, and the index, which is
// read, is rebuilt beside it from the same counts: the two stay one
// model. The digests and the logistic regression's steps stay, so that a
// message learnt before the aging can still be unlearnt (its tokens'
// counts stop at 0) and is not learnt twice.
func (st *state) ageOver(maxLearns int) (agingReport, bool) {
	if maxLearns <= 0 || st.nspam+st.nham <= maxLearns {
		return agingReport{}, false
	}
	r := agingReport{spamBefore: st.nspam, hamBefore: st.nham, tokensBefore: st.index.n}
	for (st.nspam>>r.shift)+(st.nham>>r.shift) > maxLearns {
		r.shift++
	}
	c := bayesian.NewClassifier(bayesHam, bayesSpam)
	var idx index
	totals := st.c.WordCount()
	for i, class := range st.c.Classes {
		if totals[i] <= 0 {
			continue // nothing of the class to halve (and f would be 0/0)
		}
		slot := hamSlot
		if class == bayesSpam {
			slot = spamSlot
		}
		total := float64(totals[i])
		// One pass fills both, rather than buildIndex's second copy of
		// the class's map: the aging holds the write lock, and
		// classification waits on it.
		for tok, f := range st.c.WordsByClass(class) {
			// WordsByClass gives count/total; counts are whole numbers
			// far below 2⁵³, so rounding recovers them exactly.
			n := int(math.Round(f*total)) >> r.shift
			if n <= 0 || tok == absent {
				continue
			}
			c.Observe(tok, n, class)
			k := key(tok)
			e := idx.get(k)
			e[slot] = uint32(n)
			idx.set(k, e)
		}
	}
	st.c, st.index = c, idx
	st.nspam >>= r.shift
	st.nham >>= r.shift
	r.tokensAfter = st.index.n
	r.spamAfter, r.hamAfter = st.nspam, st.nham
	return r, true
}
