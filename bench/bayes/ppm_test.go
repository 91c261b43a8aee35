package main

import (
	"math"
	"strings"
	"testing"
)

func tinyPPM(t *testing.T, spec string) *ppm {
	t.Helper()
	o, err := parsePPM(spec)
	if err != nil {
		t.Fatal(err)
	}
	return newPPM(o)
}

// An empty model codes every byte with the uniform order: 8 bits.
func TestPPMEmptyCostsEightBits(t *testing.T) {
	m := tinyPPM(t, "k=3,ctx=10,sym=12")
	m.prepare([]byte("hello\r\n"))
	if len(m.buf) != 6 {
		t.Fatalf("CR not dropped: %q", m.buf)
	}
	if got := m.bits(0); math.Abs(got-48) > 1e-9 {
		t.Errorf("empty model: %v bits, want 48", got)
	}
}

// PPM-D by hand: after learning "ab" the order-0 context has seen a once
// and b once (T = 2, d = 2); "a" is predicted at order 0 with (2·1 − 1)/4,
// and "c" escapes (2/4) to the uniform order (1/256).
func TestPPMHandComputed(t *testing.T) {
	m := tinyPPM(t, "k=0,ctx=10,sym=12")
	m.learnMsg([]byte("ab"), false, 0)
	m.prepare([]byte("a"))
	if got, want := m.bits(0), -math.Log2(0.25); math.Abs(got-want) > 1e-9 {
		t.Errorf("a: %v bits, want %v", got, want)
	}
	m.prepare([]byte("c"))
	if got, want := m.bits(0), -math.Log2(0.5/256); math.Abs(got-want) > 1e-9 {
		t.Errorf("c: %v bits, want %v", got, want)
	}
	// The spam model learnt nothing.
	if got := m.bits(1); got != 8 {
		t.Errorf("spam model: %v bits, want 8", got)
	}
}

// Without exclusion the probabilities of all 256 bytes after a context sum
// to at most 1 (the mass PPM-D's exclusion would give back is wasted, not
// invented).
func TestPPMProbabilitiesAtMostOne(t *testing.T) {
	m := tinyPPM(t, "k=2,ctx=12,sym=14")
	m.learnMsg([]byte("abracadabra, abracadabra"), true, 0)
	m.prepare([]byte("abr"))
	K := m.o.order
	row := m.hashes[2*(K+1) : 3*(K+1)] // the contexts before the "r"
	sum := 0.0
	for c := 0; c < 256; c++ {
		p, _ := m.prob(&m.cls[1], row, byte(c))
		sum += p
	}
	if sum > 1+1e-9 || sum < 0.5 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

// The scorer: text like what the spam model learnt costs fewer bits under
// it, so D is positive for it and negative for text like the ham.
func TestPPMScoresByClass(t *testing.T) {
	for _, spec := range []string{"k=4,ctx=14,sym=16", "k=4,ctx=14,sym=16,amdl=1"} {
		m := tinyPPM(t, spec)
		spam := "Subject: cheap pills online now\n\nbuy cheap pills online, best price, click here now\n"
		ham := "Subject: meeting agenda for tuesday\n\nhi all, the agenda for tuesday's meeting is attached\n"
		for i := 0; i < 3; i++ {
			m.learnMsg([]byte(spam), true, 0)
			m.learnMsg([]byte(ham), false, 0)
		}
		if d := m.diff([]byte("Subject: pills\n\ncheap pills, click here")); d <= 0 {
			t.Errorf("%s: spam-like D = %v, want > 0", spec, d)
		}
		if d := m.diff([]byte("Subject: agenda\n\nthe meeting on tuesday")); d >= 0 {
			t.Errorf("%s: ham-like D = %v, want < 0", spec, d)
		}
	}
}

// AMDL adapts to the message while coding it and then takes the
// adaptation back exactly: the model is unchanged after scoring.
func TestPPMAMDLUndoes(t *testing.T) {
	m := tinyPPM(t, "k=3,ctx=12,sym=14,amdl=1")
	m.learnMsg([]byte("some ham text to start with"), false, 0)
	msg := []byte(strings.Repeat("repeated words repeated words ", 20))
	first := m.diff(msg)
	if again := m.diff(msg); again != first {
		t.Errorf("AMDL scoring changed the model: %v then %v", first, again)
	}
	// Adapting makes the repeats cheap: AMDL codes the message in fewer
	// bits than the static model.
	m.o.amdl = false
	m.prepare(msg)
	static := m.bits(0)
	m.o.amdl = true
	if amdl := m.bits(0); amdl >= static {
		t.Errorf("AMDL %v bits, static %v: adapting should help on repeats", amdl, static)
	}
}

// Counts saturate at 255 and the context's total stops with them.
func TestPPMCountsSaturate(t *testing.T) {
	m := tinyPPM(t, "k=0,ctx=10,sym=12")
	m.learnMsg([]byte(strings.Repeat("x", 1000)), false, 0)
	m.prepare([]byte("x"))
	j := m.findCtx(&m.cls[0], m.hashes[0])
	if j < 0 {
		t.Fatal("context not found")
	}
	if got := m.cls[0].ctx[j].total; got != 255 {
		t.Errorf("total %d, want 255", got)
	}
	i, chk := m.symKey(m.hashes[0], 'x')
	if got, _ := findSym(&m.cls[0], i, chk); got != 255 {
		t.Errorf("count %d, want 255", got)
	}
}

func TestParsePPM(t *testing.T) {
	o, err := parsePPM("k=6,bytes=4000,ctx=20,sym=22,amdl=1,rate=0.1")
	if err != nil {
		t.Fatal(err)
	}
	if o.order != 6 || o.bytes != 4000 || o.ctxBits != 20 || o.symBits != 22 || !o.amdl || o.rate != 0.1 {
		t.Errorf("parsed %+v", o)
	}
	if _, err := parsePPM("k=99"); err == nil {
		t.Error("k=99 accepted")
	}
	if _, err := parsePPM("x=1"); err == nil {
		t.Error("unknown key accepted")
	}
}

// BenchmarkPPM is one message scored and learnt (3,000 bytes of
// varied text, default settings).
func BenchmarkPPM(b *testing.B) {
	o, _ := parsePPM("")
	m := newPPM(o)
	var sb strings.Builder
	for i := 0; sb.Len() < 3000; i++ {
		sb.WriteString("Received: from host")
		sb.WriteString(strings.Repeat(string(rune('a'+i%26)), i%7))
		sb.WriteString(" by mx.example.org with ESMTP id ")
		sb.WriteByte(byte('0' + i%10))
		sb.WriteByte('\n')
	}
	msg := []byte(sb.String())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := m.diff(msg)
		m.learnMsg(msg, i%2 == 0, d)
	}
}
