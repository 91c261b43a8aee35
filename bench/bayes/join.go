package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// -join reads -scores files written with -beside (one per run: shuffle
// seeds, date order, or the static split) and prints, for each way of
// joining the compression model's calibrated log-odds z with the stage's
// score s, the figures the protocol prints, per file and their mean. With
// feedback on every message neither learner depends on the join, so this
// is what the runs through a joined learner would print.

// scored is one line of a -scores file.
type scored struct {
	group string
	spam  bool
	s     float64 // the stage's joined score
	d     float64 // the compression model's difference, bits per byte
	p     float64 // its calibrated score
}

func readScored(path string) ([]scored, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []scored
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 8 {
			return nil, fmt.Errorf("%s: line %d: %d fields, want 8 (run with -beside)", path, len(out)+1, len(fs))
		}
		var v [3]float64
		for i, j := range []int{3, 6, 7} {
			if v[i], err = strconv.ParseFloat(fs[j], 64); err != nil {
				return nil, fmt.Errorf("%s: line %d: %v", path, len(out)+1, err)
			}
		}
		out = append(out, scored{group: fs[0], spam: strings.HasPrefix(fs[0], "spam"), s: v[0], d: v[1], p: v[2]})
	}
	return out, sc.Err()
}

// logit of p, bounded so that a score of exactly 0 or 1 keeps an order
// against the other voice. The bound is float64's resolution below 1:
// any larger one would tie stage scores the stage itself tells apart.
func logit(p float64) float64 {
	const eps = 0x1p-53
	p = math.Min(math.Max(p, eps), 1-eps)
	return math.Log(p / (1 - p))
}

// bands are the thresholds the rules read the score at: a join that only
// orders within them changes no verdict.
var bands = []float64{0.01, 0.5, 0.9, 0.99}

// upperEdge is the first band edge above s (1 above the last).
func upperEdge(s float64) float64 {
	for _, e := range bands {
		if s < e {
			return e
		}
	}
	return 1
}

// joinFunc is one way of joining, giving the log-odds of spam.
type joinFunc struct {
	name string
	f    func(x scored) float64
}

// joinSet is every join measured. z is the compression model's
// calibrated log-odds; w its weight.
func joinSet() []joinFunc {
	var js []joinFunc
	add := func(name string, f func(x scored) float64) { js = append(js, joinFunc{name, f}) }
	add("stage alone (shipped)", func(x scored) float64 { return logit(x.s) })
	add("ppm alone (calibrated)", func(x scored) float64 { return logit(x.p) })
	add("ppm alone (D; thresholds meaningless)", func(x scored) float64 { return x.d })
	for _, w := range []float64{0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6} {
		add(fmt.Sprintf("sum: logit s + %g z", w), func(x scored) float64 { return logit(x.s) + w*logit(x.p) })
	}
	for _, w := range []float64{0.5, 1, 2, 3} {
		add(fmt.Sprintf("veto: logit s + %g min(z,0)", w), func(x scored) float64 {
			return logit(x.s) + w*math.Min(logit(x.p), 0)
		})
	}
	for _, T := range []float64{0.99, 0.9, 0.5, 0.1} {
		for _, w := range []float64{1, 2, 3} {
			add(fmt.Sprintf("veto, convict from s>=%g: %g z", T, w), func(x scored) float64 {
				z := logit(x.p)
				if z < 0 || x.s >= T {
					return logit(x.s) + w*z
				}
				return logit(x.s)
			})
		}
	}
	for _, w := range []float64{1, 2, 3} {
		for _, k := range []float64{3} {
			add(fmt.Sprintf("veto %g, lift within band (tanh z/%g), free from 0.99", w, k), func(x scored) float64 {
				z := logit(x.p)
				if z < 0 || x.s >= 0.99 {
					return logit(x.s) + w*z
				}
				e := upperEdge(x.s)
				return logit(x.s + (e-x.s)*math.Tanh(w*z/k)*0.999)
			})
		}
	}
	return js
}

// joinNamed is the join of that name, or nil.
func joinNamed(name string) func(scored) float64 {
	for _, j := range joinSet() {
		if j.name == name {
			return j.f
		}
	}
	return nil
}

// joinFigures are one join's figures on one file.
type joinFigures struct {
	aucMiss, fpr99, recall99, recallAt, easy99, hard99 float64
}

func figuresOf(xs []scored, f func(scored) float64) joinFigures {
	scores := make([]float64, len(xs))
	spam := make([]bool, len(xs))
	var easy, hard, nEasy, nHard int
	for i, x := range xs {
		scores[i], spam[i] = f(x), x.spam
	}
	// Every join is in log-odds; thresholds are read on the probability
	// (the sigmoid is monotone, so AUC is the same on either).
	th := make([]float64, len(xs))
	for i, x := range xs {
		v := sigmoid(scores[i])
		th[i] = v
		if !x.spam {
			if strings.HasPrefix(x.group, "easy") {
				nEasy++
				if v >= junkAt {
					easy++
				}
			} else {
				nHard++
				if v >= junkAt {
					hard++
				}
			}
		}
	}
	return joinFigures{
		aucMiss:  100 * (1 - auc(scores, spam)),
		fpr99:    100 * fpr(th, spam, junkAt),
		recall99: 100 * recall(th, spam, junkAt),
		recallAt: 100 * recallAtFPR(scores, spam, 0.003),
		easy99:   float64(easy),
		hard99:   float64(hard),
	}
}

// joins prints each join's figures for each of the comma-separated files
// and their mean.
func joins(paths string) error {
	var files [][]scored
	names := strings.Split(paths, ",")
	for _, p := range names {
		xs, err := readScored(p)
		if err != nil {
			return err
		}
		files = append(files, xs)
	}
	fmt.Printf("| join | 1 − AUC (per file) | mean 1 − AUC | ham @0.99 | recall @0.99 | recall @fpr0.3 | easy / hard ham @0.99 (sum) |\n|---|---|---|---|---|---|---|\n")
	for _, j := range joinSet() {
		var per []string
		var mean joinFigures
		for _, xs := range files {
			g := figuresOf(xs, j.f)
			per = append(per, fmt.Sprintf("%.3f", g.aucMiss))
			n := float64(len(files))
			mean.aucMiss += g.aucMiss / n
			mean.fpr99 += g.fpr99 / n
			mean.recall99 += g.recall99 / n
			mean.recallAt += g.recallAt / n
			mean.easy99 += g.easy99
			mean.hard99 += g.hard99
		}
		fmt.Printf("| %s | %s | %.4f %% | %.2f %% | %.2f %% | %.2f %% | %.0f / %.0f |\n", j.name, strings.Join(per, " / "),
			mean.aucMiss, mean.fpr99, mean.recall99, mean.recallAt, mean.easy99, mean.hard99)
	}
	return nil
}
