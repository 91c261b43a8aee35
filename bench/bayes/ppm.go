package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A compression-model learner, bench only (issue 17): the strongest filters
// of the TREC 2005–2007 spam tracks (Bratko et al., "Spam filtering using
// statistical data compression models", JMLR 7, 2006) keep one adaptive
// byte model per class, PPM or DMC, and call a message spam when it costs
// fewer bits under the spam model than under the ham model; learning a
// message is coding it into its true class's model.
//
// This one is PPM-D (Howard's escape: a symbol seen c times in a context
// seen T times with d distinct symbols costs (2c − 1) / 2T, an escape to
// the next lower order d / 2T) of orders K down to 0 and −1 (uniform),
// without exclusion (so a little probability mass is wasted; the cost is
// the same for both classes), over the first N bytes of the raw message,
// CR dropped as the regression's grams drop it. Its memory is bounded:
// the counts live in hashed tables of fixed size (collisions merge
// contexts), a symbol's count saturates at 255 and a context's total stops
// with it, so the model never grows and stays a predictable number of
// bytes.

// ppmOptions are a compression model's settings (`-learner ppm:key=value,…`,
// `-beside ppm:…`).
type ppmOptions struct {
	order   int     // the highest context order K
	bytes   int     // how many bytes of the raw message are modelled (N)
	ctxBits int     // log2 of the context table's slots, per class
	symBits int     // log2 of the symbol-count table's slots, per class
	amdl    bool    // score each message while adapting to it (Bratko's AMDL), the adaptation then undone
	rate    float64 // the online calibration's step
}

var defaultPPM = ppmOptions{order: 5, bytes: 3000, ctxBits: 21, symBits: 23, rate: 0.02}

// parsePPM reads "key=value,..." over defaultPPM: k, bytes, ctx, sym,
// amdl (0 or 1), rate.
func parsePPM(spec string) (ppmOptions, error) {
	o := defaultPPM
	if spec == "" {
		return o, nil
	}
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "k":
			o.order, err = strconv.Atoi(v)
		case "bytes":
			o.bytes, err = strconv.Atoi(v)
		case "ctx":
			o.ctxBits, err = strconv.Atoi(v)
		case "sym":
			o.symBits, err = strconv.Atoi(v)
		case "amdl":
			o.amdl = v == "1"
		case "rate":
			o.rate, err = strconv.ParseFloat(v, 64)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return o, fmt.Errorf("ppm:%s: %v", spec, err)
		}
	}
	if o.order < 0 || o.order > 12 || o.bytes < 1 || o.ctxBits < 8 || o.ctxBits > 30 || o.symBits < 8 || o.symBits > 30 {
		return o, fmt.Errorf("ppm:%s: out of range", spec)
	}
	return o, nil
}

// ppmClass is one class's model: per hashed context its total count and
// distinct symbols, per hashed (context, symbol) its count. Each slot
// keeps a few bits of its key's hash besides, and a key has two slots
// (its own and its neighbour): a lookup that meets another key's slot
// misses instead of reading that key's count. Without the check, asking
// for each of 256 bytes after a context in a well-filled table finds
// other contexts' counts and gives unseen bytes a probability.
type ppmClass struct {
	ctx   []ppmCtx
	count []uint16 // check<<8 | count
}

type ppmCtx struct {
	total    uint32
	distinct uint16
	check    uint16 // 0: empty
}

// ppm is the two-class compression model and its online calibration.
type ppm struct {
	o       ppmOptions
	cls     [2]ppmClass // 0 ham, 1 spam
	ctxMask uint64
	symMask uint64
	// The calibration: log-odds of spam = a·D + b, where D is the ham
	// model's bits per byte minus the spam model's. The models' difference
	// ranks the messages; a and b, learnt online by logistic regression on
	// every message learnt, only put the score where 0.99 means something.
	a, b float64
	// Scratch: the message's bytes (CR dropped) and its context hashes,
	// order 0..K for each position.
	buf    []byte
	hashes []uint64
	// undo is AMDL's journal: the slots a message's adaptation changed,
	// with what they held.
	undo []ppmUndo
}

type ppmUndo struct {
	isCtx bool
	cls   uint8
	at    uint64
	ctx   ppmCtx
	count uint16
}

func newPPM(o ppmOptions) *ppm {
	m := &ppm{o: o, ctxMask: 1<<o.ctxBits - 1, symMask: 1<<o.symBits - 1, a: 1}
	for c := range m.cls {
		m.cls[c] = ppmClass{
			ctx:   make([]ppmCtx, 1<<o.ctxBits),
			count: make([]uint16, 1<<o.symBits),
		}
	}
	return m
}

// bytesUsed is the model's memory: what its tables hold (fixed).
func (m *ppm) bytesUsed() int {
	return 2 * (8<<m.o.ctxBits + 2<<m.o.symBits)
}

// prepare copies the message's first bytes (CR dropped) and hashes, for
// each position i and order k = 0..K, the k bytes before i.
func (m *ppm) prepare(raw []byte) {
	m.buf = m.buf[:0]
	for _, c := range raw {
		if len(m.buf) == m.o.bytes {
			break
		}
		if c != '\r' {
			m.buf = append(m.buf, c)
		}
	}
	K := m.o.order
	need := len(m.buf) * (K + 1)
	if cap(m.hashes) < need {
		m.hashes = make([]uint64, need)
	}
	m.hashes = m.hashes[:need]
	for i := range m.buf {
		h := uint64(ppmSeed)
		row := m.hashes[i*(K+1):]
		row[0] = mix64(h)
		for k := 1; k <= K; k++ {
			// The context of order k is the order k−1 one extended by
			// one more byte back; a missing byte (start of message) is
			// 256, so a short context at the start is its own context.
			c := uint64(256)
			if i-k >= 0 {
				c = uint64(m.buf[i-k])
			}
			h = mix64(h ^ (c+1)*0x9e3779b97f4a7c15 ^ uint64(k)<<56)
			row[k] = h
		}
	}
}

const ppmSeed = 0x243f6a8885a308d3

// mix64 is a 64-bit finaliser (splitmix64's).
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// ctxCheck is the check a context's slot keeps: 16 bits of its hash
// that the slot's index does not use, never 0 (an empty slot).
func ctxCheck(h uint64) uint16 { return uint16(h>>48) | 1 }

// findCtx is the slot of context h in cl, or −1.
func (m *ppm) findCtx(cl *ppmClass, h uint64) int {
	i, chk := h&m.ctxMask, ctxCheck(h)
	if cl.ctx[i].check == chk {
		return int(i)
	}
	if cl.ctx[i^1].check == chk {
		return int(i ^ 1)
	}
	return -1
}

// symKey is the hash of symbol c after context h: its slot and check.
func (m *ppm) symKey(h uint64, c byte) (uint64, uint16) {
	x := mix64(h + (uint64(c)+1)*0xd6e8feb86659fd93)
	return x & m.symMask, uint16(x>>56) | 1
}

// findSym is the count of the symbol keyed (i, chk) in cl, and its slot
// (−1 when it has none).
func findSym(cl *ppmClass, i uint64, chk uint16) (int, int) {
	if v := cl.count[i]; v>>8 == chk {
		return int(v & 0xff), int(i)
	}
	if v := cl.count[i^1]; v>>8 == chk {
		return int(v & 0xff), int(i ^ 1)
	}
	return 0, -1
}

// prob is PPM-D's probability of byte c after the contexts row (orders
// 0..K), from the highest order whose context has been seen down, and
// the order that predicted it (−1 for the uniform order).
func (m *ppm) prob(cl *ppmClass, row []uint64, c byte) (float64, int) {
	esc := 1.0
	for k := len(row) - 1; k >= 0; k-- {
		j := m.findCtx(cl, row[k])
		if j < 0 {
			continue
		}
		x := cl.ctx[j]
		if x.total == 0 || x.distinct == 0 {
			continue
		}
		i, chk := m.symKey(row[k], c)
		// A context evicted and met again can find its symbols' old
		// counts above its new total: they are bounded by it.
		if n, _ := findSym(cl, i, chk); n > 0 {
			t := float64(x.total)
			return esc * (2*math.Min(float64(n), t) - 1) / (2 * t), k
		}
		esc *= float64(x.distinct) / (2 * float64(x.total))
	}
	return esc / 256, -1
}

// bits is the message's code length, in bits, under class cls (its bytes
// prepared). With AMDL each byte is learnt once coded, and the learning
// is undone after.
func (m *ppm) bits(cls int) float64 {
	cl := &m.cls[cls]
	K := m.o.order
	sum, prod := 0.0, 1.0
	m.undo = m.undo[:0]
	for i, c := range m.buf {
		row := m.hashes[i*(K+1) : (i+1)*(K+1)]
		p, _ := m.prob(cl, row, c)
		prod *= p
		if prod < 1e-250 {
			sum -= math.Log2(prod)
			prod = 1
		}
		if m.o.amdl {
			m.update(cls, row, c, true)
		}
	}
	if m.o.amdl {
		for j := len(m.undo) - 1; j >= 0; j-- {
			u := m.undo[j]
			if u.isCtx {
				m.cls[u.cls].ctx[u.at] = u.ctx
			} else {
				m.cls[u.cls].count[u.at] = u.count
			}
		}
	}
	return sum - math.Log2(prod)
}

// update counts byte c after every context of row in class cls. A key
// with no slot takes the emptier of its two. A count at 255 stays there,
// and its context's total with it, so the estimates stay consistent
// (PPM's halving would need every symbol of a context, which the hashed
// table cannot list).
func (m *ppm) update(cls int, row []uint64, c byte, journal bool) {
	cl := &m.cls[cls]
	for k := range row {
		h := row[k]
		j := m.findCtx(cl, h)
		if j < 0 {
			i := h & m.ctxMask
			if cl.ctx[i^1].total < cl.ctx[i].total {
				i ^= 1
			}
			j = int(i)
			if journal {
				m.undo = append(m.undo, ppmUndo{isCtx: true, cls: uint8(cls), at: uint64(j), ctx: cl.ctx[j]})
			}
			cl.ctx[j] = ppmCtx{check: ctxCheck(h)}
		}
		i, chk := m.symKey(h, c)
		n, s := findSym(cl, i, chk)
		if s < 0 {
			if cl.count[i^1]&0xff < cl.count[i]&0xff {
				i ^= 1
			}
			s = int(i)
		}
		if n == 255 {
			continue
		}
		if journal {
			m.undo = append(m.undo,
				ppmUndo{cls: uint8(cls), at: uint64(s), count: cl.count[s]},
				ppmUndo{isCtx: true, cls: uint8(cls), at: uint64(j), ctx: cl.ctx[j]})
		}
		cl.count[s] = chk<<8 | uint16(n+1)
		x := &cl.ctx[j]
		if x.total < math.MaxUint32 {
			x.total++
		}
		if n == 0 && x.distinct < math.MaxUint16 {
			x.distinct++
		}
	}
}

// diff is D, the ham model's bits per byte minus the spam model's, for a
// raw message: positive when the spam model compresses it better.
func (m *ppm) diff(raw []byte) float64 {
	m.prepare(raw)
	if len(m.buf) == 0 {
		return 0
	}
	return (m.bits(0) - m.bits(1)) / float64(len(m.buf))
}

// logOdds is the calibrated log-odds of spam for a difference D.
func (m *ppm) logOdds(d float64) float64 { return m.a*d + m.b }

// learnMsg codes the message into its class's model and takes one step
// of the calibration on d, the message's difference before learning.
func (m *ppm) learnMsg(raw []byte, spam bool, d float64) {
	y, cls := 0.0, 0
	if spam {
		y, cls = 1, 1
	}
	p := sigmoid(m.logOdds(d))
	m.a += m.o.rate * (y - p) * d
	m.b += m.o.rate * (y - p)
	m.prepare(raw)
	K := m.o.order
	for i, c := range m.buf {
		m.update(cls, m.hashes[i*(K+1):(i+1)*(K+1)], c, false)
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
