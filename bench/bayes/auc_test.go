package main

import (
	"math"
	"testing"
)

// TestAUC checks the exact AUC against pairs counted by hand.
func TestAUC(t *testing.T) {
	for _, c := range []struct {
		name   string
		scores []float64
		spam   []bool
		want   float64
	}{
		{"separated", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		// Every pair tied: half.
		{"all tied", []float64{0.5, 0.5, 0.5}, []bool{true, false, false}, 0.5},
		// Spam 0.7 and 0.5 against ham 0.5 and 0.1: pairs (0.7,0.5) 1,
		// (0.7,0.1) 1, (0.5,0.5) ½, (0.5,0.1) 1 → 3.5 of 4.
		{"one tie", []float64{0.7, 0.5, 0.5, 0.1}, []bool{true, true, false, false}, 3.5 / 4},
		// One ham above one of three spam: 5 of 6 pairs.
		{"one inversion", []float64{0.9, 0.6, 0.3, 0.4, 0.2}, []bool{true, true, true, false, false}, 5.0 / 6},
	} {
		if got := auc(c.scores, c.spam); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: auc = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRates(t *testing.T) {
	scores := []float64{0.99, 0.95, 0.5, 0.995, 0.2, 0.9}
	spam := []bool{true, true, true, false, false, false}
	if got := fpr(scores, spam, 0.9); math.Abs(got-2.0/3) > 1e-12 {
		t.Errorf("fpr@0.9 = %v, want 2/3", got)
	}
	if got := recall(scores, spam, 0.99); math.Abs(got-1.0/3) > 1e-12 {
		t.Errorf("recall@0.99 = %v, want 1/3", got)
	}
}

// TestByDate: dated messages sorted, undated ones where they were.
func TestByDate(t *testing.T) {
	mk := func(date string) *msg {
		h := "Subject: x\n"
		if date != "" {
			h = "Date: " + date + "\n" + h
		}
		return &msg{raw: []byte(h + "\nbody\n")}
	}
	a := mk("Tue, 03 Sep 2002 10:00:00 +0000")
	b := mk("")
	c := mk("Mon, 02 Sep 2002 10:00:00 +0000")
	d := mk("not a date")
	e := mk("Mon, 02 Sep 2002 10:00:00 +0000") // ties c: stays after it
	ms := []*msg{a, b, c, d, e}
	byDate(ms)
	want := []*msg{c, b, e, d, a}
	for i := range want {
		if ms[i] != want[i] {
			t.Fatalf("place %d holds the wrong message", i)
		}
	}
}

func TestRecallAtFPR(t *testing.T) {
	// 10 ham at 0.0..0.9 and spam at 0.95, 0.85, 0.5, 0.05.
	var scores []float64
	var spam []bool
	for i := range 10 {
		scores, spam = append(scores, float64(i)/10), append(spam, false)
	}
	for _, s := range []float64{0.95, 0.85, 0.5, 0.05} {
		scores, spam = append(scores, s), append(spam, true)
	}
	for _, c := range []struct{ f, want float64 }{
		{0, 0.25},    // no ham flagged: only above 0.9
		{0.1, 0.50},  // one ham (0.9): above 0.8
		{0.15, 0.50}, // still one
		{0.5, 0.75},  // five ham (0.5..0.9): above 0.4
		{1, 1},
	} {
		if got := recallAtFPR(scores, spam, c.f); got != c.want {
			t.Errorf("recallAtFPR(%v) = %v, want %v", c.f, got, c.want)
		}
	}
}
