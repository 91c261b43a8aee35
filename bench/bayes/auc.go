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
