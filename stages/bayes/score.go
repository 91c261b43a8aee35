package bayes

import (
	"cmp"
	"math"
	"slices"
)

// Params tune the scorer: Robinson's and SpamBayes's parameters.
type Params struct {
	// Strength (Robinson's s) is how many messages' worth of weight the
	// prior Unknown has against a token's observed spam ratio.
	Strength float64
	// Unknown (Robinson's x) is the probability assumed for a token never
	// seen.
	Unknown float64
	// MinStrength drops tokens whose probability is within this distance of
	// 0.5: they say nothing and only dilute the combination.
	MinStrength float64
	// MaxClues caps how many of the strongest tokens are combined.
	MaxClues int
	// SpamESF and HamESF are bogofilter's effective size factors: the
	// clues are not independent (a word, its pair, its capitals token),
	// so n of them weigh as n*ESF independent ones in the spam and the ham
	// chi-square. 0 means 1.
	SpamESF, HamESF float64
	// PerSide, when set, chooses the strongest clues on each side of 0.5
	// apart, at most MaxClues of each, instead of the strongest MaxClues
	// overall: a long message with hundreds of strong spam clues would
	// otherwise crowd out every moderate ham clue it has.
	PerSide bool
	// MinCount is how many learnt messages must have held a token before
	// it counts as a clue at all; 0 counts every token seen once.
	MinCount float64
}

// DefaultParams are the scorer settings the stage uses: SpamBayes's, with
// Strength raised from 0.45 and MaxClues from 150 to 300, which won on
// cross-validation of the training groups (bench/bayes/README.md). A
// prior leaning to spam (x = 0.55) and 500 clues won on the drift-aware
// split too, but flagged more newsletters as spam on the held-out set
// (3.58 % of ham against 2.12 %); for a user who must not lose mail, ham
// flagged weighs more than recall, so the neutral prior stays.
var DefaultParams = Params{Strength: 1, Unknown: 0.5, MinStrength: 0.1, MaxClues: 300}

// Clue is one token that took part in a score, with its probability of
// spam.
type Clue struct {
	Token string
	Prob  float64
}

// tokenProb is Robinson's smoothed estimate f(w) of the probability that a
// message containing the token is spam, from the number of spam and ham
// messages that contained it and the number of each learnt.
func (p Params) tokenProb(spam, ham float64, nspam, nham int) float64 {
	ns, nh := math.Max(float64(nspam), 1), math.Max(float64(nham), 1)
	spam, ham = math.Min(spam, ns), math.Min(ham, nh)
	n := spam + ham
	if n == 0 || n < p.MinCount {
		return p.Unknown
	}
	sr, hr := spam/ns, ham/nh
	pw := sr / (sr + hr)
	return (p.Strength*p.Unknown + n*pw) / (p.Strength + n)
}

// combine selects the strongest clues and joins them with Fisher's method:
// H and S are the chi-square probabilities that the clues' hamminess and
// spamminess are chance; the score is (1 + S - H) / 2, near 1 for spam,
// near 0 for ham, and near 0.5 when the evidence conflicts or is thin. It
// returns the score and the top clues, strongest first, at most explain of
// them.
func (p Params) combine(clues []Clue, explain int) (float64, []Clue) {
	return p.combineIn(make([]scored, 0, len(clues)), clues, explain)
}

// combineIn is combine working in strong, which should have room for all
// the clues: ClassifyTokens passes a pooled one (scratch.go).
func (p Params) combineIn(strong []scored, clues []Clue, explain int) (float64, []Clue) {
	strong = strong[:0]
	for i, c := range clues {
		if d := math.Abs(c.Prob - 0.5); d >= p.MinStrength {
			strong = append(strong, scored{d, i, c})
		}
	}
	if p.PerSide {
		var hs, ss []scored
		for _, c := range strong {
			if c.Prob < 0.5 {
				hs = append(hs, c)
			} else {
				ss = append(ss, c)
			}
		}
		if len(hs) > p.MaxClues {
			hs = strongest(hs, p.MaxClues)
		}
		if len(ss) > p.MaxClues {
			ss = strongest(ss, p.MaxClues)
		}
		strong = append(hs, ss...)
	} else if len(strong) > p.MaxClues {
		strong = strongest(strong, p.MaxClues)
	}
	if len(strong) == 0 {
		return 0.5, nil
	}
	var lnH, lnS float64
	for _, s := range strong {
		pr := math.Min(math.Max(s.Prob, 1e-9), 1-1e-9)
		lnH += math.Log(pr)
		lnS += math.Log(1 - pr)
	}
	s := 1 - chi2Q(-2*lnS*esf(p.SpamESF), effectiveDF(len(strong), p.SpamESF))
	h := 1 - chi2Q(-2*lnH*esf(p.HamESF), effectiveDF(len(strong), p.HamESF))
	return (1 + s - h) / 2, topClues(strong, explain)
}

func esf(f float64) float64 {
	if f <= 0 {
		return 1
	}
	return f
}

// effectiveDF is the chi-square's degrees of freedom for n clues weighing
// as n*f: rounded to an even number, as chi2Q sums an even-order series.
func effectiveDF(n int, f float64) int {
	return 2 * max(1, int(math.Round(float64(n)*esf(f))))
}

// strongest returns the n strongest of all (in no particular order), the
// same n a full sort by byStrength would keep. Strengths lie in [0, 0.5]:
// a histogram finds the cut, and only the clues in the bucket the cut falls
// in are sorted. Long messages have thousands of clues; sorting them all
// was a tenth of classification time.
func strongest(all []scored, n int) []scored {
	const buckets = 1024
	bucketOf := func(s scored) int { return min(int(s.strength*2*buckets), buckets-1) }
	var hist [buckets]int
	for _, s := range all {
		hist[bucketOf(s)]++
	}
	cut, above := buckets-1, 0
	for ; cut > 0 && above+hist[cut] < n; cut-- {
		above += hist[cut]
	}
	out := make([]scored, 0, n)
	var edge []scored
	for _, s := range all {
		switch b := bucketOf(s); {
		case b > cut:
			out = append(out, s)
		case b == cut:
			edge = append(edge, s)
		}
	}
	slices.SortFunc(edge, byStrength)
	return append(out, edge[:n-len(out)]...)
}

// byStrength orders clues strongest first; ties keep the tokenizer's order,
// which is deterministic, without comparing strings.
func byStrength(a, b scored) int {
	if c := cmp.Compare(b.strength, a.strength); c != 0 {
		return c
	}
	return a.order - b.order
}

// topClues returns the n strongest clues in order, by insertion into a
// short sorted list: cheaper than sorting them all for the few shown.
func topClues(all []scored, n int) []Clue {
	top := make([]scored, 0, n+1)
	for _, s := range all {
		if len(top) == n && byStrength(s, top[n-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, s, byStrength)
		top = slices.Insert(top, i, s)
		if len(top) > n {
			top = top[:n]
		}
	}
	out := make([]Clue, len(top))
	for i, s := range top {
		out[i] = s.Clue
	}
	return out
}

// scored is a clue with its distance from 0.5, computed once for the sort.
type scored struct {
	strength float64
	order    int
	Clue
}

// chi2Q is the probability that a chi-square variable with v (even)
// degrees of freedom is at least x2: the survival function, summed as a
// series in closed form.
func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	sum := math.Exp(-m)
	term := sum
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return math.Min(sum, 1)
}
