package bayes

import (
	"hash/maphash"
	"math"
)

// index mirrors the classifier's per-class counts in one table, token to
// (spam, ham) message counts. The jbrukh/bayesian classifier holds, learns
// and persists the counts; reading them back through it costs a lookup in
// each class's map (WordFrequencies), and those two cache misses per token
// were the largest part of classifying a message. The index answers with
// one. It is rebuilt from the classifier at load and kept in step by every
// change, under the store's lock.
//
// It is keyed by a 64-bit hash of the token, not the token: a lookup then
// compares one word instead of following the key's string to memory that
// is another cache miss, and the table holds no pointers, so the garbage
// collector does not scan its hundreds of thousands of keys. Two tokens of
// one model share a key with a chance of about n²/2⁶⁵ (3·10⁻⁸ for a
// million tokens); the cost of one would be two tokens' counts added.
//
// The table is open addressing with linear probing over 16-byte slots, at
// most three quarters full, rather than a Go map: a lookup is then one
// load of one slot, nearly always in one cache line, and so little code
// that Counts can overlap the cache misses of many tokens' lookups
// (getMany). A map's lookup reads the group's control word and then the
// slot, often two lines, in code long enough that the misses came one
// after another; they were the largest single cost of classification left
// after the tokenizer. (At most half full, the table took so much fresh
// memory as it grew that training from empty was slower: the first touch
// of a page costs here about as much as rehashing what it holds.)
type index struct {
	slots []indexSlot // len a power of two, or nil while empty
	n     int         // slots in use
}

// indexSlot is one token's counts; key 0 marks an empty slot.
type indexSlot struct {
	key    uint64
	counts [2]uint32
}

// indexSeed seeds the index's hash. The index is rebuilt at every load, so
// the seed need only hold for the process.
var indexSeed = maphash.MakeSeed()

// key is tok's key in the index; never 0, which marks an empty slot (a
// token hashing to 0 shares key 1, as any two colliding tokens would).
func key(tok string) uint64 { return max(maphash.String(indexSeed, tok), 1) }

const (
	spamSlot = 0
	hamSlot  = 1
)

// minIndexSlots is the table's size for its first tokens.
const minIndexSlots = 1 << 10

// get returns the counts under k, zero when there are none.
func (x *index) get(k uint64) [2]uint32 {
	mask := uint64(len(x.slots) - 1)
	for i := k & mask; len(x.slots) > 0; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.key == k {
			return s.counts
		}
		if s.key == 0 {
			break
		}
	}
	return [2]uint32{}
}

// getMany is get for each of keys, into out. It reads every key's home
// slot first, in a loop with no branch on what it reads, so that the
// processor has all those cache misses in flight at once; most keys are
// then settled by their home slot (found there, or the slot is empty) and
// only the rest probe further.
func (x *index) getMany(keys []uint64, out [][2]uint32) {
	if len(x.slots) == 0 {
		clear(out[:len(keys)])
		return
	}
	mask := uint64(len(x.slots) - 1)
	var home [indexBatch]indexSlot
	for len(keys) > 0 {
		n := min(len(keys), indexBatch)
		for j, k := range keys[:n] {
			home[j] = x.slots[k&mask]
		}
		for j, k := range keys[:n] {
			switch home[j].key {
			case k:
				out[j] = home[j].counts
			case 0:
				out[j] = [2]uint32{}
			default:
				out[j] = x.get(k)
			}
		}
		keys, out = keys[n:], out[n:]
	}
}

// indexBatch is how many lookups getMany overlaps: about the misses a
// core keeps in flight.
const indexBatch = 16

// set stores the counts under k, removing k when they are zero.
func (x *index) set(k uint64, counts [2]uint32) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	i := k & mask
	for x.slots[i].key != 0 && x.slots[i].key != k {
		i = (i + 1) & mask
	}
	switch {
	case counts != [2]uint32{}:
		if x.slots[i].key == 0 {
			x.n++
		}
		x.slots[i] = indexSlot{k, counts}
	case x.slots[i].key == k:
		x.remove(i)
	}
}

// remove empties slot i, moving later slots of its probe run back so that
// every key stays reachable from its home slot without tombstones.
func (x *index) remove(i uint64) {
	mask := uint64(len(x.slots) - 1)
	for j := (i + 1) & mask; x.slots[j].key != 0; j = (j + 1) & mask {
		// The key in j may move to i unless its home lies cyclically
		// in (i, j]: then i is before its home and it must stay.
		home := x.slots[j].key & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = indexSlot{}
	x.n--
}

// grow doubles the table (or makes the first).
func (x *index) grow() {
	old := x.slots
	x.slots = make([]indexSlot, max(2*len(old), minIndexSlots))
	mask := uint64(len(x.slots) - 1)
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		i := s.key & mask
		for x.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// each calls f with the counts of every token in the index.
func (x *index) each(f func(counts [2]uint32)) {
	for _, s := range x.slots {
		if s.key != 0 {
			f(s.counts)
		}
	}
}

// buildIndex fills st.index from the classifier's frequencies.
func (st *state) buildIndex() {
	totals := st.c.WordCount()
	var idx index
	for i, class := range st.c.Classes {
		slot := hamSlot
		if class == bayesSpam {
			slot = spamSlot
		}
		total := float64(totals[i])
		for tok, f := range st.c.WordsByClass(class) {
			if n := math.Round(f * total); n > 0 && tok != absent {
				k := key(tok)
				e := idx.get(k)
				e[slot] = uint32(n)
				idx.set(k, e)
			}
		}
	}
	st.index = idx
}

// bump adds delta to a token's count in slot, dropping tokens that fall to
// zero in both classes.
func (x *index) bump(tok string, slot int, delta int) {
	k := key(tok)
	e := x.get(k)
	n := int(e[slot]) + delta
	if n < 0 {
		n = 0
	}
	e[slot] = uint32(n)
	x.set(k, e)
}
