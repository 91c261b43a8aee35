package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/sluicemail/sluice/engine"
)

var byKind = flag.Bool("bykind", false, "with -cv: leave one kind of ham out: each fold holds out one mailing list (or one sender domain) whole, so its ham is of a kind the model never learnt, as the held-out newsletters are")

// minKind is the fewest messages a list or sender domain needs to be a
// fold of its own; smaller ones are pooled into one "other" fold.
const minKind = 60

// kindOf names the kind of a ham message: the mailing list it came
// through (List-Id, X-Mailing-List, Mailing-List, List-Post), or else the
// domain of its From address.
func kindOf(m *engine.Message) string {
	h := m.Header()
	for _, name := range []string{"List-Id", "X-Mailing-List", "Mailing-List", "List-Post"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if i, j := strings.IndexByte(v, '<'), strings.IndexByte(v, '>'); i >= 0 && j > i {
				v = v[i+1 : j]
			}
			return "list " + strings.TrimPrefix(strings.ToLower(strings.Fields(v)[0]), "mailto:")
		}
	}
	if from, _ := h.Addresses("From"); len(from) > 0 {
		return "from " + engine.DomainOf(from[0].Address)
	}
	return "other"
}

// kindFolds puts each ham kind with at least minKind messages in a fold of
// its own and the rest in a last "other" fold; spam is cut into as many
// contiguous blocks, in the order it was collected, as in folds.
func kindFolds(train []*msg) (fold []int, names []string) {
	count := map[string]int{}
	kinds := make([]string, len(train))
	for i, x := range train {
		if !x.spam {
			kinds[i] = kindOf(x.m)
			count[kinds[i]]++
		}
	}
	for k, n := range count {
		if n >= minKind && k != "other" {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(a, b int) bool { return count[names[a]] > count[names[b]] })
	index := map[string]int{}
	for i, k := range names {
		index[k] = i
	}
	names = append(names, "other")
	nspam := 0
	for _, x := range train {
		if x.spam {
			nspam++
		}
	}
	fold = make([]int, len(train))
	seen := 0
	for i, x := range train {
		if x.spam {
			fold[i] = seen * len(names) / nspam
			seen++
			continue
		}
		f, ok := index[kinds[i]]
		if !ok {
			f = len(names) - 1
		}
		fold[i] = f
	}
	for i, k := range names {
		n := 0
		for j, x := range train {
			if !x.spam && fold[j] == i {
				n++
			}
		}
		names[i] = fmt.Sprintf("%s (%d)", k, n)
	}
	return fold, names
}

// kindFP lists, for each held-out kind, how many of its ham scored at or
// above th.
func kindFP(train []*msg, fold []int, scores []float64, names []string, th float64) string {
	fp := make([]int, len(names))
	for i, x := range train {
		if !x.spam && scores[i] >= th {
			fp[fold[i]]++
		}
	}
	var parts []string
	for i, n := range fp {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", names[i][:strings.LastIndexByte(names[i], ' ')], n))
		}
	}
	return strings.Join(parts, ", ")
}
