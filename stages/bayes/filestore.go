package bayes

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/jbrukh/bayesian"
)

// The jbrukh/bayesian class names the counts are kept under.
const (
	bayesHam  bayesian.Class = "ham"
	bayesSpam bayesian.Class = "spam"
)

// absent is a word no token can be (tokens never hold a NUL byte).
const absent = "\x00"

// reloadEvery bounds how often the file is looked at for changes made by
// another process.
const reloadEvery = time.Second

// FileStore is the Store kept in one file: a jbrukh/bayesian classifier
// whose per-class word frequencies are the per-class message counts of each
// token (every token is learnt once per message), plus the messages learnt
// per class and their digests. It is loaded at open, reloaded when the file
// changes on disk, and saved atomically. A FileStore with no path lives in
// memory only.
type FileStore struct {
	path string

	mu       sync.RWMutex
	st       *state
	pending  []Change  // applied since the last load or save, replayed on reload
	stamp    fileStamp // of the file as last loaded or written
	badStamp fileStamp // of a file that failed to load, not to be retried

	maxLearns int // aging's bound (aging.go); 0: the counts never age

	lastCheck  atomic.Int64  // unix nanoseconds of the last look at the file
	checkEvery time.Duration // reloadEvery; tests make it 0
}

// state is everything a model file holds.
type state struct {
	c       *bayesian.Classifier
	nspam   int
	nham    int
	digests map[Digest]Class
	tokVer  int
	index   index              // the classifier's counts, read in one lookup
	w       []float32          // logistic-regression weights, nil until the first step
	steps   map[Digest]float32 // the step each learnt message took
}

func newState() *state {
	return &state{
		c:       bayesian.NewClassifier(bayesHam, bayesSpam),
		digests: make(map[Digest]Class),
		tokVer:  TokenizerVersion,
		steps:   make(map[Digest]float32),
	}
}

// NewMemoryStore returns a store that is never written to disk; Save is a
// no-op. The benchmark and tests train on it.
func NewMemoryStore() *FileStore { return &FileStore{st: newState()} }

// OpenFileStore opens the model file at path, or starts an empty model when
// the file does not exist yet (it is created by the first Save).
func OpenFileStore(path string) (*FileStore, error) {
	s := &FileStore{path: path, checkEvery: reloadEvery}
	st, stamp, err := readModel(path)
	if err != nil {
		return nil, err
	}
	s.st, s.stamp = st, stamp
	s.lastCheck.Store(time.Now().UnixNano())
	return s, nil
}

// Path returns the model file's path ("" for a memory store).
func (s *FileStore) Path() string { return s.path }

// Counts implements Store.
func (s *FileStore) Counts(tokens []string, spam, ham []float64) (int, int, error) {
	s.maybeReload()
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	var keys [indexBatch]uint64
	var counts [indexBatch][2]uint32
	for len(tokens) > 0 {
		n := min(len(tokens), indexBatch)
		for j, t := range tokens[:n] {
			keys[j] = key(t)
		}
		st.index.getMany(keys[:n], counts[:n])
		for j, e := range counts[:n] {
			spam[j], ham[j] = float64(e[spamSlot]), float64(e[hamSlot])
		}
		tokens, spam, ham = tokens[n:], spam[n:], ham[n:]
	}
	return st.nspam, st.nham, nil
}

// Apply implements Store.
func (s *FileStore) Apply(c Change) (bool, error) {
	s.maybeReload()
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.st.apply(c)
	if changed && s.path != "" {
		s.pending = append(s.pending, c)
	}
	if changed {
		s.ageLocked()
	}
	return changed, nil
}

// apply changes the counts; the caller holds the write lock.
func (st *state) apply(c Change) bool {
	prev, known := st.digests[c.Digest]
	if c.Unlearn {
		if !known {
			return false
		}
		st.add(prev, c.Tokens, -1)
		st.unstep(c)
		delete(st.digests, c.Digest)
		return true
	}
	if known && prev == c.Class {
		return false
	}
	if known {
		st.add(prev, c.Tokens, -1)
		st.unstep(c)
	}
	st.add(c.Class, c.Tokens, 1)
	st.digests[c.Digest] = c.Class
	if len(c.Features) > 0 && c.Step != 0 {
		st.step(c.Features, c.Step)
		st.steps[c.Digest] = c.Step
	}
	return true
}

// unstep takes back the step a message's learn took.
func (st *state) unstep(c Change) {
	if d, ok := st.steps[c.Digest]; ok {
		st.step(c.Features, -d)
		delete(st.steps, c.Digest)
	}
}

// step moves the weights of features by delta.
func (st *state) step(features []uint32, delta float32) {
	if st.w == nil {
		st.w = make([]float32, 1<<lrBits)
	}
	for _, f := range features {
		st.w[f&(1<<lrBits-1)] += delta
	}
}

// Margin implements Store.
func (s *FileStore) Margin(features []uint32) (float64, error) {
	s.maybeReload()
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.st.w
	if w == nil {
		return 0, nil
	}
	var sum float32
	for _, f := range features {
		sum += w[f&(1<<lrBits-1)]
	}
	return float64(sum), nil
}

func (st *state) add(class Class, tokens []string, delta int) {
	bc, slot := bayesHam, hamSlot
	n := &st.nham
	if class == Spam {
		bc, slot, n = bayesSpam, spamSlot, &st.nspam
	}
	*n = max(*n+delta, 0)
	if delta > 0 {
		for _, t := range tokens {
			st.index.bump(t, slot, delta)
		}
		st.c.Learn(tokens, bc)
		return
	}
	// Unlearning takes from a token only what it holds: a message learnt
	// before an aging (aging.go) may hold tokens whose counts were halved
	// to 0 since, and a count below 0 would be evidence against a token
	// never seen. The index and the classifier stop at 0 together.
	for _, t := range tokens {
		k := key(t)
		e := st.index.get(k)
		take := min(int(e[slot]), -delta)
		if take == 0 {
			continue
		}
		e[slot] -= uint32(take)
		st.index.set(k, e)
		st.c.Observe(t, -take, bc)
	}
}

// Stats implements Store.
func (s *FileStore) Stats() (Stats, error) {
	s.maybeReload()
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	out := Stats{Spam: st.nspam, Ham: st.nham, Tokenizer: st.tokVer}
	for _, v := range st.w {
		if v != 0 {
			out.Weights++
		}
	}
	st.index.each(func(e [2]uint32) {
		if e[spamSlot] > 0 {
			out.SpamTokens++
		}
		if e[hamSlot] > 0 {
			out.HamTokens++
		}
	})
	return out, nil
}
