package bayes

import (
	"math/rand/v2"
	"testing"
)

// TestIndexAgainstMap drives the index's table and a map with the same
// random sets and removals and checks that they always agree. The keys are
// drawn so that many share a home slot and runs wrap round the table's
// end: removal's moving back of later slots is what could lose a key.
func TestIndexAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x index
	ref := map[uint64][2]uint32{}
	check := func(step int) {
		t.Helper()
		if x.n != len(ref) {
			t.Fatalf("step %d: index holds %d keys, map %d", step, x.n, len(ref))
		}
		for k, want := range ref {
			if got := x.get(k); got != want {
				t.Fatalf("step %d: key %#x: index %v, map %v", step, k, got, want)
			}
		}
		seen := 0
		x.each(func([2]uint32) { seen++ })
		if seen != len(ref) {
			t.Fatalf("step %d: each visited %d, map holds %d", step, seen, len(ref))
		}
	}
	for step := range 20000 {
		// Few distinct low bits (a crowded table) above a varying high part.
		k := uint64(r.IntN(3000))<<32 | uint64(r.IntN(64))*uint64(minIndexSlots/64) | uint64(minIndexSlots-2+r.IntN(3))
		var c [2]uint32
		if r.IntN(3) > 0 { // two thirds sets, one third removals
			c = [2]uint32{uint32(r.IntN(4)), uint32(r.IntN(4))}
		}
		x.set(k, c)
		if c == [2]uint32{} {
			delete(ref, k)
		} else {
			ref[k] = c
		}
		if step%500 == 0 {
			check(step)
		}
	}
	check(20000)
	if x.get(12345) != [2]uint32{} {
		t.Fatal("a key never set has counts")
	}
}

// TestIndexBump is the store's path: counts up and down to zero, where the
// token leaves the table.
func TestIndexBump(t *testing.T) {
	var x index
	x.bump("viagra", spamSlot, 2)
	x.bump("viagra", hamSlot, 1)
	if got := x.get(key("viagra")); got != [2]uint32{2, 1} {
		t.Fatalf("counts %v, want [2 1]", got)
	}
	x.bump("viagra", spamSlot, -5) // floors at zero
	x.bump("viagra", hamSlot, -1)
	if x.n != 0 || x.get(key("viagra")) != [2]uint32{} {
		t.Fatalf("a token at zero in both classes stays: n=%d", x.n)
	}
}
