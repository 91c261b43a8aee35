package main

import (
	"flag"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/jbrukh/bayesian"
	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/bayes"
)

// variant is one tokenizer and scorer setting to cross-validate.
type variant struct {
	name   string
	opts   bayes.Options
	params bayes.Params
	naive  bool // score with jbrukh/bayesian's naive Bayes instead of Fisher
}

func variants() []variant {
	d, p := bayes.DefaultOptions, bayes.DefaultParams
	flip := func(name string, f func(o *bayes.Options)) variant {
		o := d
		f(&o)
		return variant{name: name, opts: o, params: p}
	}
	plain := bayes.Options{MaxTokens: 100000}
	vs := []variant{
		{name: "default", opts: d, params: p},
		{name: "plain words, naive Bayes", opts: plain, params: p, naive: true},
		{name: "plain words, Fisher", opts: plain, params: p},
		{name: "default, naive Bayes", opts: d, params: p, naive: true},
		flip("toggle Headers", func(o *bayes.Options) { o.Headers = !o.Headers }),
		flip("toggle HeaderNames", func(o *bayes.Options) { o.HeaderNames = !o.HeaderNames }),
		flip("toggle MIME", func(o *bayes.Options) { o.MIME = !o.MIME }),
		flip("toggle HTMLMarkup", func(o *bayes.Options) { o.HTMLMarkup = !o.HTMLMarkup }),
		flip("toggle HTMLTags", func(o *bayes.Options) { o.HTMLTags = !o.HTMLTags }),
		flip("toggle URLs", func(o *bayes.Options) { o.URLs = !o.URLs }),
		flip("toggle URLPaths", func(o *bayes.Options) { o.URLPaths = !o.URLPaths }),
		flip("toggle Buckets", func(o *bayes.Options) { o.Buckets = !o.Buckets }),
		flip("toggle Pairs", func(o *bayes.Options) { o.Pairs = !o.Pairs }),
		flip("toggle KeepCase", func(o *bayes.Options) { o.KeepCase = !o.KeepCase }),
		flip("MaxTokens 500", func(o *bayes.Options) { o.MaxTokens = 500 }),
	}
	for _, q := range []bayes.Params{
		{Strength: 0.45, Unknown: 0.5, MinStrength: 0.1, MaxClues: 150}, // SpamBayes's defaults
		{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 150},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 1000},
		{Strength: 2, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300},
		{Strength: 3, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.05, MaxClues: 300},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.2, MaxClues: 300},
		{Strength: 1, Unknown: 0.4, MinStrength: 0.1, MaxClues: 300},
	} {
		vs = append(vs, variant{name: fmt.Sprintf("s=%.2g x=%.2g minstr=%.2g clues=%d", q.Strength, q.Unknown, q.MinStrength, q.MaxClues), opts: d, params: q})
	}
	// Second round (helper C2): drift and correlated clues.
	vs = append(vs,
		flip("r2 toggle ReceivedBy", func(o *bayes.Options) { o.ReceivedBy = !o.ReceivedBy }),
		flip("r2 toggle ReceivedIP", func(o *bayes.Options) { o.ReceivedIP = !o.ReceivedIP }),
		flip("r2 toggle ReceivedBy+IP", func(o *bayes.Options) { o.ReceivedBy, o.ReceivedIP = !o.ReceivedBy, !o.ReceivedIP }),
		flip("r2 toggle Consistency", func(o *bayes.Options) { o.Consistency = !o.Consistency }),
		flip("r2 MaxTokens 6000", func(o *bayes.Options) { o.MaxTokens = 6000 }),
		flip("r2 toggle SkipPairs", func(o *bayes.Options) { o.SkipPairs = !o.SkipPairs }),
	)
	for _, e := range [][2]float64{{0.8, 0.8}, {0.6, 0.6}, {0.4, 0.4}, {1, 0.7}, {0.7, 1}} {
		q := p
		q.SpamESF, q.HamESF = e[0], e[1]
		vs = append(vs, variant{name: fmt.Sprintf("r2 esf spam %.2g ham %.2g", e[0], e[1]), opts: d, params: q})
	}
	for _, q := range []bayes.Params{
		{Strength: 1, Unknown: 0.55, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1, Unknown: 0.52, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1, Unknown: 0.538, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1, Unknown: 0.6, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1, Unknown: 0.55, MinStrength: 0.1, MaxClues: 500},
		{Strength: 2, Unknown: 0.55, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1.5, Unknown: 0.55, MinStrength: 0.1, MaxClues: 500},
		{Strength: 1, Unknown: 0.55, MinStrength: 0.05, MaxClues: 500},
		{Strength: 1, Unknown: 0.55, MinStrength: 0.1, MaxClues: 1000},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 200},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 500},
		{Strength: 0.5, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300},
	} {
		vs = append(vs, variant{name: fmt.Sprintf("r2 s=%.2g x=%.3g minstr=%.2g clues=%d", q.Strength, q.Unknown, q.MinStrength, q.MaxClues), opts: d, params: q})
	}
	// Third round: solicited-mail and sparse-evidence changes.
	vs = append(vs,
		flip("r3 toggle Recipient", func(o *bayes.Options) { o.Recipient = !o.Recipient }),
	)
	for _, mc := range []float64{2, 3, 5} {
		q := p
		q.MinCount = mc
		vs = append(vs, variant{name: fmt.Sprintf("r3 mincount %g", mc), opts: d, params: q})
		o := d
		o.Recipient = true
		vs = append(vs, variant{name: fmt.Sprintf("r3 recipient+mincount %g", mc), opts: o, params: q})
	}
	for _, c := range []int{75, 150, 300, 1000} {
		q := p
		q.PerSide, q.MaxClues = true, c
		vs = append(vs, variant{name: fmt.Sprintf("r3 per side, %d clues each", c), opts: d, params: q})
	}
	vs = append(vs,
		flip("r3 no lone body words", func(o *bayes.Options) { o.NoWords = true }),
		flip("r3 triples", func(o *bayes.Options) { o.Triples = true }),
		flip("r3 triples, 6000 tokens", func(o *bayes.Options) { o.Triples, o.MaxTokens = true, 6000 }),
	)
	nw := d
	nw.NoWords = true
	vs = append(vs,
		variant{name: "r3n pairs only + skip pairs", opts: func() bayes.Options { o := nw; o.SkipPairs = true; return o }(), params: p},
		variant{name: "r3n pairs only + triples", opts: func() bayes.Options { o := nw; o.Triples = true; return o }(), params: p},
		variant{name: "r3n pairs only, 6000 tokens", opts: func() bayes.Options { o := nw; o.MaxTokens = 6000; return o }(), params: p},
		variant{name: "r3n pairs only, no caps", opts: func() bayes.Options { o := nw; o.KeepCase = false; return o }(), params: p},
	)
	for _, q := range []bayes.Params{
		{Strength: 1, Unknown: 0.55, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 500},
		{Strength: 1, Unknown: 0.55, MinStrength: 0.1, MaxClues: 500},
		{Strength: 0.5, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300},
		{Strength: 2, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 150},
		{Strength: 1, Unknown: 0.5, MinStrength: 0.05, MaxClues: 300},
	} {
		vs = append(vs, variant{name: fmt.Sprintf("r3n pairs only s=%.2g x=%.3g c=%d ms=%.2g", q.Strength, q.Unknown, q.MaxClues, q.MinStrength), opts: nw, params: q})
	}
	for _, mt := range []int{500, 1000, 3000} {
		for _, q := range []bayes.Params{
			{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300},
			{Strength: 0.5, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300},
			{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 150},
			{Strength: 0.5, Unknown: 0.5, MinStrength: 0.1, MaxClues: 150},
			{Strength: 1, Unknown: 0.45, MinStrength: 0.1, MaxClues: 300},
			{Strength: 0.5, Unknown: 0.5, MinStrength: 0.1, MaxClues: 500},
		} {
			o := d
			o.MaxTokens = mt
			vs = append(vs, variant{name: fmt.Sprintf("r3g tok=%d s=%.2g x=%.3g c=%d", mt, q.Strength, q.Unknown, q.MaxClues), opts: o, params: q})
		}
	}
	return vs
}

var thresholds = []float64{0.5, 0.9, 0.99}

// crossValidate runs k-fold cross-validation over the training groups for
// every variant and prints false positives and recall at each threshold.
func crossValidate(train []*msg, k int) {
	for _, x := range train {
		x.m = engine.NewMessage(engine.Envelope{}, x.raw)
	}
	var ham, spam int
	for _, x := range train {
		if x.spam {
			spam++
		} else {
			ham++
		}
	}
	htmlHam := 0
	for _, x := range train {
		if !x.spam && x.m.Body().HTML {
			htmlHam++
		}
	}
	if *forward {
		fmt.Print("forward chaining (spam learnt only from earlier folds), ")
	}
	var kindNames []string
	var kindFold []int
	if *byKind {
		kindFold, kindNames = kindFolds(train)
		k = len(kindNames)
		fmt.Printf("leave one kind of ham out; the kinds: %s\n", strings.Join(kindNames, ", "))
	}
	fmt.Printf("%d-fold cross-validation on easy-ham-1 (%d) + spam-1 (%d)\n\n", k, ham, spam)
	fmt.Printf("%-40s | %-21s | %-21s | %-21s | %s | %s\n", "variant", "FP / recall @0.5", "FP / recall @0.9", "FP / recall @0.99", "ham>0.2", "HTML ham>=0.9")
	fmt.Println(strings.Repeat("-", 110))
	for _, v := range variants() {
		if *only != "" && !strings.Contains(v.name, *only) && v.name != "default" {
			continue
		}
		toks := make([][]string, len(train))
		for i, x := range train {
			toks[i] = v.opts.Tokenize(x.m)
		}
		scores := make([]float64, len(train))
		fold := folds(train, k)
		if *byKind {
			fold = kindFold
		}
		for f := 0; f < k; f++ {
			if *forward && f == 0 {
				continue // nothing earlier to learn spam from
			}
			foldScores(v, train, toks, fold, f, scores)
		}
		if *explain && v.name == "default" {
			explainErrors(v, train, toks, fold, scores)
		}
		nham, nspam := ham, spam
		if *forward {
			nham, nspam = 0, 0
			for i, x := range train {
				if fold[i] != 0 && x.spam {
					nspam++
				} else if fold[i] != 0 {
					nham++
				}
			}
		}
		row := fmt.Sprintf("%-40s", v.name)
		for _, th := range thresholds {
			fp, tp := 0, 0
			for i, x := range train {
				if *forward && fold[i] == 0 {
					continue
				}
				if scores[i] >= th {
					if x.spam {
						tp++
					} else {
						fp++
					}
				}
			}
			row += fmt.Sprintf(" | %3d (%4.2f%%) %5.1f%%", fp, pct(fp, nham), pct(tp, nspam))
		}
		near, htmlFP := 0, 0
		for i, x := range train {
			if *forward && fold[i] == 0 {
				continue
			}
			if !x.spam && scores[i] > 0.2 {
				near++
			}
			if !x.spam && scores[i] >= 0.9 && x.m.Body().HTML {
				htmlFP++
			}
		}
		row += fmt.Sprintf(" | %3d | %2d/%d", near, htmlFP, htmlHam)
		if *atRecall {
			row += " | at recall" + fpAtRecall(train, fold, scores, 0.90, 0.92, 0.95)
		}
		if *byKind {
			row += " | @0.99 " + kindFP(train, fold, scores, kindNames, 0.99)
		}
		fmt.Println(row)
	}
}

// folds assigns each message to one of k folds. Spam goes in contiguous
// blocks: the files are in the order they were collected, so a block held
// out is later spam than most of what was learnt, which is the drift a real
// filter meets. Ham is interleaved: its files are grouped by mailing list,
// and a block would hold out whole lists the user does read.
func folds(train []*msg, k int) []int {
	size := map[string]int{}
	for _, x := range train {
		size[x.group]++
	}
	seen := map[string]int{}
	out := make([]int, len(train))
	for i, x := range train {
		if x.spam {
			out[i] = seen[x.group] * k / size[x.group]
		} else {
			out[i] = seen[x.group] % k
		}
		seen[x.group]++
	}
	return out
}

// foldScores trains on every fold but f and scores fold f.
func foldScores(v variant, train []*msg, toks [][]string, fold []int, f int, scores []float64) {
	if v.naive {
		c := bayesian.NewClassifier("ham", "spam")
		for i, x := range train {
			if fold[i] != f && !(*forward && x.spam && fold[i] > f) {
				c.Learn(toks[i], classOf(x))
			}
		}
		for i := range train {
			if fold[i] == f {
				ls, _, _ := c.LogScores(toks[i])
				scores[i] = 1 / (1 + math.Exp(ls[0]-ls[1]))
			}
		}
		return
	}
	store := bayes.NewMemoryStore()
	model := bayes.NewModelWith(store, v.opts, v.params)
	for i, x := range train {
		if fold[i] == f || *forward && x.spam && fold[i] > f {
			continue
		}
		class := bayes.Ham
		if x.spam {
			class = bayes.Spam
		}
		var d bayes.Digest
		d[0], d[1], d[2] = byte(i), byte(i>>8), byte(i>>16)
		store.Apply(bayes.Change{Digest: d, Class: class, Tokens: toks[i]})
	}
	for i := range train {
		if fold[i] == f {
			res, _ := model.ClassifyTokens(toks[i])
			scores[i] = res.Spam
		}
	}
}

func classOf(x *msg) bayesian.Class {
	if x.spam {
		return "spam"
	}
	return "ham"
}

var forward = flag.Bool("forward", false, "with -cv: forward chaining: fold f's spam is scored by a model that learnt only the spam collected before it (folds < f), as held-out spam-2 is later than spam-1; fold 0 is not scored")

var only = flag.String("only", "", "with -cv: run only the variants whose name contains this (and the default)")

var explain = flag.Bool("explain", false, "with -cv: list the default variant's errors at 0.9 with their clues")

// explainErrors prints the ham scored at 0.9 or more and the spam under it,
// with the clues that decided, retraining each message's fold.
func explainErrors(v variant, train []*msg, toks [][]string, fold []int, scores []float64) {
	models := map[int]*bayes.Model{}
	for i, x := range train {
		if (scores[i] >= 0.99) == x.spam {
			continue
		}
		f := fold[i]
		if models[f] == nil {
			store := bayes.NewMemoryStore()
			for j, y := range train {
				if fold[j] != f {
					class := bayes.Ham
					if y.spam {
						class = bayes.Spam
					}
					var d bayes.Digest
					d[0], d[1], d[2] = byte(j), byte(j>>8), byte(j>>16)
					store.Apply(bayes.Change{Digest: d, Class: class, Tokens: toks[j]})
				}
			}
			models[f] = bayes.NewModelWith(store, v.opts, v.params)
		}
		res, _ := models[f].ClassifyTokens(toks[i])
		fmt.Printf("%s #%d score %.3f subject %q\n   ", x.group, i, res.Spam, x.m.Header().Get("Subject"))
		for k, c := range res.Clues {
			if k == 25 {
				break
			}
			fmt.Printf(" %s=%.2f", c.Token, c.Prob)
		}
		fmt.Println()
	}
}

var atRecall = flag.Bool("atrecall", false, "with -cv: also print the ham flagged at the thresholds that give 90, 92 and 95 % spam recall (compares scorers whose scores are not on the same scale)")

// fpAtRecall returns, for each recall, the ham scored at or above the
// threshold at which that share of the scored spam is caught.
func fpAtRecall(train []*msg, fold []int, scores []float64, recalls ...float64) string {
	var spam, ham []float64
	for i, x := range train {
		if *forward && fold[i] == 0 {
			continue
		}
		if x.spam {
			spam = append(spam, scores[i])
		} else {
			ham = append(ham, scores[i])
		}
	}
	if len(spam) == 0 {
		return " (no spam scored)"
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(spam)))
	out := ""
	for _, r := range recalls {
		th := spam[min(len(spam)-1, int(math.Ceil(r*float64(len(spam))))-1)]
		fp := 0
		for _, h := range ham {
			if h >= th {
				fp++
			}
		}
		out += fmt.Sprintf(" %.0f%%: %d", r*100, fp)
	}
	return out
}
