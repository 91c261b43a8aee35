package bayes

import (
	"hash/maphash"
	"math"
)

// index mirrors the classifier's per-class counts in one map, token to
// (spam, ham) message counts. The jbrukh/bayesian classifier holds, learns
// and persists the counts; reading them back through it costs a lookup in
// each class's map (WordFrequencies), and those two cache misses per token
// were the largest part of classifying a message. The index answers with
// one. It is rebuilt from the classifier at load and kept in step by every
// change, under the store's lock.
//
// It is keyed by a 64-bit hash of the token, not the token: a lookup then
// compares one word instead of following the key's string to memory that
// is another cache miss, and the map holds no pointers, so the garbage
// collector does not scan its hundreds of thousands of keys. Two tokens of
// one model share a key with a chance of about n²/2⁶⁵ (3·10⁻⁸ for a
// million tokens); the cost of one would be two tokens' counts added.
type index map[uint64][2]uint32

// indexSeed seeds the index's hash. The index is rebuilt at every load, so
// the seed need only hold for the process.
var indexSeed = maphash.MakeSeed()

// key is tok's key in the index.
func key(tok string) uint64 { return maphash.String(indexSeed, tok) }

const (
	spamSlot = 0
	hamSlot  = 1
)

// buildIndex fills st.index from the classifier's frequencies.
func (st *state) buildIndex() {
	totals := st.c.WordCount()
	idx := make(index)
	for i, class := range st.c.Classes {
		slot := hamSlot
		if class == bayesSpam {
			slot = spamSlot
		}
		total := float64(totals[i])
		for tok, f := range st.c.WordsByClass(class) {
			if n := math.Round(f * total); n > 0 && tok != absent {
				k := key(tok)
				e := idx[k]
				e[slot] = uint32(n)
				idx[k] = e
			}
		}
	}
	st.index = idx
}

// bump adds delta to a token's count in slot, dropping tokens that fall to
// zero in both classes.
func (x index) bump(tok string, slot int, delta int) {
	k := key(tok)
	e := x[k]
	n := int(e[slot]) + delta
	if n < 0 {
		n = 0
	}
	e[slot] = uint32(n)
	if e == [2]uint32{} {
		delete(x, k)
		return
	}
	x[k] = e
}
