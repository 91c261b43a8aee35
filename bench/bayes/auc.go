package main

import "sort"

// auc is the area under the ROC curve of scores for spam (positive)
// against ham, computed exactly: the share of (spam, ham) pairs in which
// the spam scores higher, a tie counting half (the Mann-Whitney U over the
// number of pairs).
func auc(scores []float64, spam []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var nspam, nham, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		// Ranks i+1..j share their mean.
		mean := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if spam[idx[k]] {
				rankSum += mean
			}
		}
		i = j
	}
	for _, s := range spam {
		if s {
			nspam++
		} else {
			nham++
		}
	}
	if nspam == 0 || nham == 0 {
		return 1
	}
	return (rankSum - nspam*(nspam+1)/2) / (nspam * nham)
}

// fpr is the share of ham scored at or above th (flagged as spam).
func fpr(scores []float64, spam []bool, th float64) float64 {
	return share(scores, spam, th, false)
}

// recall is the share of spam scored at or above th.
func recall(scores []float64, spam []bool, th float64) float64 {
	return share(scores, spam, th, true)
}

func share(scores []float64, spam []bool, th float64, class bool) float64 {
	var n, hit int
	for i, s := range scores {
		if spam[i] != class {
			continue
		}
		n++
		if s >= th {
			hit++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}

// recallAtFPR is the ROC's recall where at most the share f of ham is
// flagged: the share of spam scored above the highest threshold that
// flags more ham than that (a spam tied with that ham is not counted, as
// no threshold separates them). Printed beside the figures at 0.99, it
// tells whether a miss there is the ranking's (no threshold reaches the
// target) or only where the score puts 0.99 (a monotone recalibration
// would reach it).
func recallAtFPR(scores []float64, spam []bool, f float64) float64 {
	var ham, sp []float64
	for i, s := range scores {
		if spam[i] {
			sp = append(sp, s)
		} else {
			ham = append(ham, s)
		}
	}
	if len(ham) == 0 || len(sp) == 0 {
		return 0
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(ham)))
	k := int(f * float64(len(ham))) // ham that may be flagged
	if k >= len(ham) {
		return 1
	}
	cut := ham[k] // the first ham that must not be flagged
	n := 0
	for _, s := range sp {
		if s > cut {
			n++
		}
	}
	return float64(n) / float64(len(sp))
}
