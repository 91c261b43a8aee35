package bayes

import "math"

// index mirrors the classifier's per-class counts in one map, token to
// (spam, ham) message counts. The jbrukh/bayesian classifier holds, learns
// and persists the counts; reading them back through it costs a lookup in
// each class's map (WordFrequencies), and those two cache misses per token
// were the largest part of classifying a message. The index answers with
// one. It is rebuilt from the classifier at load and kept in step by every
// change, under the store's lock.
type index map[string][2]uint32

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
				e := idx[tok]
				e[slot] = uint32(n)
				idx[tok] = e
			}
		}
	}
	st.index = idx
}

// bump adds delta to a token's count in slot, dropping tokens that fall to
// zero in both classes.
func (x index) bump(tok string, slot int, delta int) {
	e := x[tok]
	n := int(e[slot]) + delta
	if n < 0 {
		n = 0
	}
	e[slot] = uint32(n)
	if e == [2]uint32{} {
		delete(x, tok)
		return
	}
	x[tok] = e
}
