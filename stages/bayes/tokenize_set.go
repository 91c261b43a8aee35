package bayes

import (
	"bytes"
	"hash/maphash"
	"strings"
	"sync"
	"unsafe"
)

// tokens is an ordered set of distinct tokens with a cap.
//
// It is its own open-addressing table rather than a map[string]struct{}:
// every word, pair and header token of a message passes through it, and
// with a map a token built in a buffer (a pair, a lower-cased word) had to
// become a string before the set could say it was a repeat, while the
// pooled map cost a clear of all its groups per message. Here a lookup
// hashes the bytes where they are, a repeat hands back the string the set
// already holds, and emptying the table clears one slice of int32.
type tokens struct {
	list    []string
	hashes  []uint64 // hash of list[i], for growing the table without rehashing strings
	table   []int32  // 1 + an index into list, 0 for an empty slot; len a power of two
	max     int
	scratch []byte // addJoin builds a token here before it knows whether it is new

	// arena, when on, is where new tokens' bytes are kept: one chunk for
	// many tokens instead of an allocation each. Only for tokens that
	// are dropped together after use (Classify's): a token a model keeps
	// would keep its whole chunk alive.
	arena   []byte
	inArena bool
}

// arenaChunk is the size of one chunk of the arena; a message's new
// tokens take a few kilobytes.
const arenaChunk = 4 << 10

// keep returns v, a view of a buffer about to be reused, as a string that
// stays valid: in the arena when it is on, else a copy of its own.
func (t *tokens) keep(v string) string {
	if !t.inArena || len(v) == 0 || len(v) > arenaChunk/8 {
		return strings.Clone(v)
	}
	if cap(t.arena)-len(t.arena) < len(v) {
		t.arena = make([]byte, 0, arenaChunk)
	}
	start := len(t.arena)
	t.arena = append(t.arena, v...)
	// The bytes are never written again: only appended after.
	return unsafe.String(&t.arena[start], len(v))
}

// setSeed seeds the set's hash; a set lives for one message.
var setSeed = maphash.MakeSeed()

// minSlots is the smallest table: room for the few hundred distinct
// tokens of a typical message at a load under one half.
const minSlots = 1 << 10

// tablePool recycles the tables: allocating one per message was a good
// part of the garbage classification made.
var tablePool = sync.Pool{New: func() any { return &setTable{slots: make([]int32, minSlots), hashes: make([]uint64, 0, minSlots/2)} }}

// setTable is what the pool holds: the slots and the hashes' backing array.
type setTable struct {
	slots  []int32
	hashes []uint64
}

// newTokens returns an empty set with a cap, appending to list (empty).
func newTokens(max int, list []string) *tokens {
	if max <= 0 {
		max = DefaultOptions.MaxTokens
	}
	st := tablePool.Get().(*setTable)
	return &tokens{table: st.slots, hashes: st.hashes[:0], list: list, max: max}
}

// done returns the table to the pool and the tokens in their order; t must
// not be used after.
func (t *tokens) done() []string {
	clear(t.table)
	tablePool.Put(&setTable{slots: t.table, hashes: t.hashes})
	t.table, t.hashes = nil, nil
	return t.list
}

// full reports whether the cap is reached: nothing more is added then.
func (t *tokens) full() bool { return len(t.list) >= t.max }

// find returns the index in list of the token s hashing to h, or the
// table slot where it would go (as -1 - slot) when it is not there.
func (t *tokens) find(h uint64, s string) int {
	mask := uint64(len(t.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := t.table[i]
		if e == 0 {
			return -1 - int(i)
		}
		if j := int(e - 1); t.hashes[j] == h && t.list[j] == s {
			return j
		}
	}
}

// insert appends tok, hashing to h, whose empty slot find returned.
func (t *tokens) insert(h uint64, tok string, slot int) {
	t.table[slot] = int32(len(t.list) + 1)
	t.list = append(t.list, tok)
	t.hashes = append(t.hashes, h)
	if 2*len(t.list) > len(t.table) {
		t.grow()
	}
}

// grow doubles the table; only a message with more distinct tokens than
// minSlots/2 (a raised cap) gets here.
func (t *tokens) grow() {
	table := make([]int32, 2*len(t.table))
	mask := uint64(len(table) - 1)
	for j, h := range t.hashes {
		i := h & mask
		for table[i] != 0 {
			i = (i + 1) & mask
		}
		table[i] = int32(j + 1)
	}
	t.table = table
}

// add records a token once; past the cap it is dropped. A token never holds
// a NUL byte: the store uses one as a name no token can have.
func (t *tokens) add(tok string) {
	if t.full() || strings.IndexByte(tok, 0) >= 0 {
		return
	}
	h := maphash.String(setSeed, tok)
	if i := t.find(h, tok); i < 0 {
		t.insert(h, tok, -1-i)
	}
}

// addView records v as add does, where v may be a view of a buffer that
// is about to be reused, and returns a string equal to v that stays valid:
// the set's own when v is a repeat, a copy otherwise. Words lower-cased or
// reshaped in a buffer come here, so that a repeated one costs nothing.
func (t *tokens) addView(v string) string {
	h := maphash.String(setSeed, v)
	i := t.find(h, v)
	if i >= 0 {
		return t.list[i]
	}
	s := t.keep(v)
	if !t.full() && strings.IndexByte(s, 0) < 0 {
		t.insert(h, s, -1-i)
	}
	return s
}

// addJoin records the concatenation of parts as add does, but builds it in
// a reused buffer first: a token already seen in this message (a repeated
// word pair, a repeated URL host) or past the cap then costs no allocation.
// Concatenating with + allocated every pair of every message, and that
// was a good part of classification's garbage.
func (t *tokens) addJoin(parts ...string) {
	if t.full() {
		return
	}
	b := t.scratch[:0]
	for _, p := range parts {
		b = append(b, p...)
	}
	t.scratch = b
	if bytes.IndexByte(b, 0) >= 0 {
		return
	}
	v := viewOf(b)
	h := maphash.String(setSeed, v)
	if i := t.find(h, v); i < 0 {
		t.insert(h, t.keep(v), -1-i)
	}
}

// viewOf is b as a string without a copy, for a lookup only: it must not be
// kept, as b is rewritten for the next token.
func viewOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
