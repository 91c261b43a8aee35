package bayes

import "sync"

// scratch is the per-message working memory of ClassifyTokens: the counts
// read, the clues and the clues sorted by strength. Made afresh for every
// message they were a quarter of the bytes classification allocated, and
// the collector that reclaims them runs on the same core.
type scratch struct {
	spam, ham []float64
	clues     []Clue   // len 0, room for every token
	strong    []scored // len 0, room for every token
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// getScratch returns a scratch with room for n tokens.
func getScratch(n int) *scratch {
	sc := scratchPool.Get().(*scratch)
	if cap(sc.spam) < n {
		sc.spam, sc.ham = make([]float64, n), make([]float64, n)
		sc.clues, sc.strong = make([]Clue, 0, n), make([]scored, 0, n)
	}
	sc.spam, sc.ham = sc.spam[:n], sc.ham[:n]
	// Zero, as make gave them: a store need not write a token it lacks.
	clear(sc.spam)
	clear(sc.ham)
	return sc
}

// put returns sc to the pool, dropping the tokens its clues point to
// (sc.clues holds the clues made; the sorted ones are no more).
func (sc *scratch) put() {
	clear(sc.strong[:len(sc.clues)])
	clear(sc.clues)
	sc.clues, sc.strong = sc.clues[:0], sc.strong[:0]
	scratchPool.Put(sc)
}
