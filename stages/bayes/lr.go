package bayes

import (
	"math"
	"sync"
)

// The second learner is online logistic regression over hashed binary
// features, as the strongest filters of the TREC 2006–2007 spam tracks did
// it (Goodman & Yih 2006; Cormack's LR runs; Sculley's ROSVM used the same
// features): every overlapping run of Grams bytes in the first Bytes bytes
// of the raw message (headers first, so the header carries most weight)
// and, apart, in its last Tail bytes (the footer of a long message),
// every orthogonal sparse bigram of its words (a word and one of the four
// before it, with their distance, as CRM114 and OSBF-Lua count them),
// and every token of the tokenizer, each hashed into one of 2^Bits
// weights. The score is the sigmoid of the sum of the weights present;
// learning a message moves each of its weights by Rate × (truth − score),
// so a message already judged right moves the model little.

// LROptions tune the logistic-regression learner. The zero value is off.
type LROptions struct {
	On    bool
	Grams int // bytes per character n-gram; 0 for none
	Bytes int // how much of the raw message the n-grams are taken from
	// Tail takes the n-grams of the last Tail bytes too (of those past
	// Bytes), as features of their own: the end of a message is where a
	// newsletter's or a campaign's footer stands (unsubscribe text, the
	// sender's address, a list's signature), which the first Bytes of a
	// long message never reach. 0 for none.
	Tail   int
	Tokens bool // the tokenizer's tokens as features too
	// OSB adds orthogonal sparse bigrams (CRM114, OSBF-Lua) of the raw
	// message's whitespace-separated words in the first Bytes bytes: each
	// word paired with each of the OSB words before it, the distance
	// part of the feature. 0 for none.
	OSB  int
	Rate float64 // learning rate
	// Bayes weighs the Fisher score's log-odds in the combined score: the
	// probability the stage reports is sigmoid(LR margin + Bayes ×
	// logit(Fisher)). 0 reports the LR alone.
	Bayes float64
	// Capped bounds what the regression may add towards spam to Up (it
	// may always take away): a regression that learnt no ham of some kind
	// (newsletters) reads everything of that kind as spam with great
	// confidence, and the counts are the more cautious judge of that.
	Capped bool
	Up     float64
	// Convicted lifts the cap for a message the counts alone score at or
	// above it (0: the cap holds everywhere). The regression can then
	// never junk on its own a message the counts know little of
	// (KnownFrom), but among the messages the counts already junk it
	// ranks freely: a ham the counts score as certain spam (Fisher's
	// score is exactly 1 for many) can fall below the spam the
	// regression is sure of too. Set to the junk threshold of the rules,
	// nothing changes at that threshold; above it, the ranking is the
	// regression's as much as the counts'.
	Convicted float64
	// Norm scales each present feature to 1/√n for a message of n
	// features, as Goodman & Yih and Sculley did: a long message no longer
	// moves (or is moved by) the margin n times as much as a short one, and
	// one step moves the margin by exactly Rate × (truth − score).
	Norm bool
	// Thick skips the regression's step for a message its margin already
	// puts more than Thick on the right side (0: every message steps).
	Thick float64
	// Bound is how near 0 or 1 the counts' score counts in the join: its
	// log-odds are bounded at ±logit(1 − Bound); 0 means 1e-9. Fisher's
	// score saturates at 1 for most spam and for some ham, and the
	// difference between 1 − 10⁻⁷ and 1 − 10⁻¹² says little, while a
	// bound of 10⁻⁹ lets it outweigh any margin the regression has.
	Bound float64
	// Squeeze lets a margin the cap holds back still order the messages
	// inside the band of the rules the counts put them in (ruleEdges):
	// the score rises from the counts' towards the band's upper edge by
	// tanh(held back / Squeeze), never reaching it. No message held by
	// the cap crosses a threshold the rules read that the counts alone
	// did not, but within a band a message the regression is sure of
	// ranks above one it is not, which the flat cap gave away. 0: off.
	Squeeze float64
	// Gain weighs a positive margin on a message the counts score at or
	// above Convicted (0 means 1). Such a message is junked whatever the
	// margin, so the weight changes no verdict at the rules' thresholds;
	// it only lets the regression's certainty order the junked spam above
	// a ham the counts are as sure of (Fisher's score saturates for both).
	Gain float64
	// KnownFrom lets the cap give way for a message most of whose tokens
	// the counts have seen: from a known share of KnownFrom, linearly, to
	// none at all when every token is known (0: the cap holds whatever
	// the share). The cap is there for mail of a kind the model never
	// learnt (a newsletter to a model that learnt only list mail and
	// spam reads as spam to the regression); such a message is mostly
	// tokens the counts never saw, and on the static split the hard ham
	// the uncapped regression junked had a median known share of 0.47,
	// against 0.84 for the ham of the online run's second half
	// (bench/bayes/README.md, r17). Where the model knows the message's
	// vocabulary, the regression's conviction is worth having.
	KnownFrom float64
	// VetoFrom and VetoFull weigh a negative margin on a message the
	// counts do not convict by the same share: not at all below VetoFrom,
	// linearly to in full from VetoFull (VetoFull 0: in full whatever the
	// share). A regression that has seen little of a message's vocabulary
	// clears it on little evidence, and new spam is such a message as often
	// as new ham. What the weighing lifts stays inside the band the full
	// veto put the message in (vetoEdges): it orders barely known mail
	// within a band and moves none across a threshold the rules or the
	// autolearner read. Lifted across them (r17) it flagged more ham once
	// the autolearner no longer learnt what it lifted above 0.001
	// (bench/bayes/README.md, s17).
	VetoFrom, VetoFull float64
}

// vetoEdges are ruleEdges and the autolearner's thresholds as the
// README's example sets them (0.001 and 0.999): the veto's weighing moves
// no message across these either, so what the autolearner learns stays.
var vetoEdges = [...]float64{0.001, 0.01, 0.5, 0.9, JunkAt, 0.999}

// inBand is z lifted towards lifted but kept below the first of edges
// above z: a soft clamp, d·tanh(x/d) for a lift x and a distance d to
// the edge, which gives nearly all of a lift much smaller than d, never
// more than the lift, and never the edge itself, so that lifted messages
// keep their order near it.
func inBand(z, lifted float64, edges []float64) float64 {
	for _, e := range edges {
		if sigmoid(z) < e {
			d := logit(e) - z
			out := z + d*squeezeShare*math.Tanh((lifted-z)/d)
			if sigmoid(out) >= e {
				return z
			}
			return out
		}
	}
	return lifted
}

// ruleEdges are the thresholds bayes.spam is read at: where the example
// rules score it (examples/rules/inbound.yaml: bayes-ham at 0.01,
// bayes-probable-spam at 0.9, bayes-spam at JunkAt) and 0.5, where it
// leans to spam at all (sluice check, the static figures). Squeeze never
// lifts a score across one; without 0.5 the static split's ham leaning to
// spam went from 92 to 170 of 1,650 (bench/bayes/README.md).
var ruleEdges = [...]float64{0.01, 0.5, 0.9, JunkAt}

// squeezeShare keeps a squeezed score strictly inside its band.
const squeezeShare = 0.999

// DefaultLR is the learner the stage uses (bench/bayes/README.md).
var DefaultLR = LROptions{On: true, Grams: 4, Bytes: 3000, Tail: 1000, Tokens: true, OSB: 4, Norm: true, Rate: 30, Bayes: 1, Capped: true, Up: 0, Convicted: JunkAt,
	Bound: 3e-6, Squeeze: 3, Gain: 2, KnownFrom: 0.7, VetoFrom: 0.3, VetoFull: 0.6}

// JunkAt is the score from which the example rules junk a message
// (bayes-spam in examples/rules/inbound.yaml), where DefaultLR lifts the
// regression's cap.
const JunkAt = 0.99

// lrBits is log2 of the number of weights: 2^20 float32 are 4 MiB in
// memory; the file holds only the non-zero ones.
const lrBits = 20

// Hash seeds keep the kinds of features apart in the one table.
const (
	gramSeed  = 0x9E3779B97F4A7C15
	tokenSeed = 0xC2B2AE3D27D4EB4F
	osbSeed   = 0x165667B19E3779F9
	tailSeed  = 0x27D4EB2F165667C5
)

// features returns the distinct hashed features of a message: indexes
// into a table of 2^bits weights.
func (o LROptions) features(raw []byte, tokens []string) []uint32 {
	set := o.featureSet(raw, tokens)
	out := append([]uint32(nil), set.list...)
	set.release()
	return out
}

// featureSet returns the features in a pooled set, for a caller that only
// reads them (Classify sums their weights): the copy features makes was
// the largest allocation of a classification. Release it after.
func (o LROptions) featureSet(raw []byte, tokens []string) *featureSet {
	set := featurePool.Get().(*featureSet)
	set.reset()
	shift := 64 - uint(lrBits)
	if n := o.Grams; n > 0 && n <= 8 {
		addGrams(set, raw[:min(len(raw), o.Bytes)], n, gramSeed, shift)
		if o.Tail > 0 && len(raw) > o.Bytes {
			addGrams(set, raw[max(o.Bytes, len(raw)-o.Tail):], n, tailSeed, shift)
		}
	}
	if o.OSB > 0 {
		var ring [8]uint64
		k := min(o.OSB, len(ring))
		n := 0
		b := raw[:min(len(raw), o.Bytes)]
		for i := 0; i < len(b); {
			for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
				i++
			}
			j := i
			h := uint64(osbSeed)
			for j < len(b) && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
				h ^= uint64(b[j])
				h *= 0x100000001B3
				j++
			}
			if j == i {
				break
			}
			i = j
			for d := 1; d <= k && d <= n; d++ {
				prev := ring[(n-d)%len(ring)]
				set.add(uint32(((prev*31+uint64(d))*0x9E3779B97F4A7C15 ^ h) * 0xBF58476D1CE4E5B9 >> shift))
			}
			ring[n%len(ring)] = h
			n++
		}
	}
	if o.Tokens {
		for _, t := range tokens {
			h := uint64(tokenSeed)
			for i := 0; i < len(t); i++ {
				h ^= uint64(t[i])
				h *= 0x100000001B3
			}
			set.add(uint32((h * 0x9E3779B97F4A7C15) >> shift))
		}
	}
	return set
}

// addGrams adds every overlapping run of n bytes of b (CR dropped, so that
// CRLF and LF mail give the same grams), hashed with seed.
func addGrams(set *featureSet, b []byte, n int, seed uint64, shift uint) {
	var v uint64
	mask := uint64(1)<<(8*uint(n)) - 1
	if n == 8 {
		mask = math.MaxUint64
	}
	seen := 0
	for _, c := range b {
		if c == '\r' {
			continue
		}
		v = (v<<8 | uint64(c)) & mask
		if seen++; seen >= n {
			set.add(uint32(((v ^ seed) * 0x9E3779B97F4A7C15) >> shift))
		}
	}
}

// featureSet is a set of feature indexes: a bit per possible feature
// (2^lrBits bits, 128 KiB) and the list in the order first added. Reused
// through featurePool, it costs no allocation per message, and emptying it
// clears only the bits the list names. (It was an open-addressing table of
// 2^14 slots: a probe and a compare per feature, and the message's 4,000
// or so features made it a tenth of classification.)
type featureSet struct {
	bits []uint64
	list []uint32
}

// maxFeatures bounds the features of one message: bounded work whatever
// its size.
const maxFeatures = 1 << 13

var featurePool = sync.Pool{New: func() any {
	return &featureSet{bits: make([]uint64, 1<<lrBits/64), list: make([]uint32, 0, 4096)}
}}

// release returns s to the pool; it must not be used after.
func (s *featureSet) release() { featurePool.Put(s) }

func (s *featureSet) reset() {
	for _, f := range s.list {
		s.bits[f/64] = 0
	}
	s.list = s.list[:0]
}

// add records f, an index below 2^lrBits, once.
func (s *featureSet) add(f uint32) {
	if len(s.list) >= maxFeatures {
		return
	}
	w, b := &s.bits[f/64], uint64(1)<<(f%64)
	if *w&b == 0 {
		*w |= b
		s.list = append(s.list, f)
	}
}

// scale is the value of each of a message's n present features.
func (o LROptions) scale(n int) float64 {
	if !o.Norm || n == 0 {
		return 1
	}
	return 1 / math.Sqrt(float64(n))
}

// step is how far learning a message as y (1 spam, 0 ham) moves each of
// its n features' weights, given the sum of those weights now: the
// logistic regression's gradient step, Rate × (y − score) × feature value.
// (Repeating the step while the margin is thin changed nothing
// measurable; skipping it while the margin is wide, Thick, lost:
// bench/bayes/README.md.)
func (o LROptions) step(sum float64, n int, y float64) float64 {
	if n == 0 {
		return 0
	}
	s := o.scale(n)
	if o.Thick > 0 && (2*y-1)*sum*s > o.Thick {
		return 0
	}
	return o.Rate * (y - sigmoid(sum*s)) * s
}

// join is the combined log-odds of a regression margin and a Fisher score;
// known is the share of the message's tokens the counts have seen
// (Result.KnownShare).
func (o LROptions) join(margin, fisher, known float64) float64 {
	base := o.Bayes * o.logitFisher(fisher)
	convicted := o.Convicted > 0 && fisher >= o.Convicted
	if margin < 0 && !convicted && o.VetoFull > 0 {
		full := margin + base
		return inBand(full, ramp(known, o.VetoFrom, o.VetoFull)*margin+base, vetoEdges[:])
	}
	if convicted && margin > 0 && o.Gain > 0 {
		return o.Gain*margin + base
	}
	if !o.Capped || convicted || margin <= o.Up {
		return margin + base
	}
	held := o.held(margin, base)
	if o.KnownFrom <= 0 || known <= o.KnownFrom {
		return held
	}
	// Known enough: the cap gives way in proportion. The free sum can be
	// below what the squeeze gives a small margin; the larger counts.
	return held + ramp(known, o.KnownFrom, 1)*max(margin+base-held, 0)
}

// ramp is 0 for x at or below from, 1 at or above full, and linear
// between.
func ramp(x, from, full float64) float64 {
	if x <= from {
		return 0
	}
	if x >= full {
		return 1
	}
	return (x - from) / (full - from)
}

// held is the log-odds of a capped join: the counts' base plus Up, lifted
// within the counts' band by what Squeeze makes of the margin held back.
func (o LROptions) held(margin, base float64) float64 {
	z := o.Up + base
	if o.Squeeze <= 0 {
		return z
	}
	for _, e := range ruleEdges {
		if sigmoid(z) < e {
			lifted := z + (logit(e)-z)*squeezeShare*math.Tanh((margin-o.Up)/o.Squeeze)
			if sigmoid(lifted) >= e {
				return z // rounding: the edge stays uncrossed
			}
			return lifted
		}
	}
	return z
}

// logitFisher is the counts' score's log-odds, bounded by Bound.
func (o LROptions) logitFisher(p float64) float64 {
	b := o.Bound
	if b <= 0 {
		return logit(p)
	}
	p = math.Min(math.Max(p, b), 1-b)
	return math.Log(p / (1 - p))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// logit is the log-odds of p, bounded so that a Fisher score of exactly 0
// or 1 stays finite.
func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-9), 1-1e-9)
	return math.Log(p / (1 - p))
}
