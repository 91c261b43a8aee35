package bayes

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
)

// lrModel is a model with the regression on over store.
func lrModel(s Store) *Model { return NewModelLR(s, DefaultOptions, DefaultParams, DefaultLR) }

func margin(t *testing.T, m *Model, raw []byte) float64 {
	t.Helper()
	res, err := m.Classify(engine.NewMessage(engine.Envelope{}, raw))
	if err != nil {
		t.Fatal(err)
	}
	return res.Margin
}

// TestLRLearns: after learning, the regression leans each way for unseen
// messages of each class, and the combined score follows.
func TestLRLearns(t *testing.T) {
	m := lrModel(NewMemoryStore())
	if g := margin(t, m, synthMessage(true, 9000)); g != 0 {
		t.Fatalf("an empty model has margin %v", g)
	}
	if err := train(m, 0, 50); err != nil {
		t.Fatal(err)
	}
	if g := margin(t, m, synthMessage(true, 9000)); g <= 1 {
		t.Errorf("unseen spam: margin %v, want clearly positive", g)
	}
	if g := margin(t, m, synthMessage(false, 9000)); g >= -1 {
		t.Errorf("unseen ham: margin %v, want clearly negative", g)
	}
	res, _ := m.Classify(engine.NewMessage(engine.Envelope{}, synthMessage(true, 9001)))
	if res.Spam < res.Fisher && res.Fisher < 0.999 {
		t.Errorf("the regression agrees with the counts, yet the combined score %v is below Fisher's %v", res.Spam, res.Fisher)
	}
	st, _ := m.Stats()
	if st.Weights == 0 {
		t.Error("no weights counted")
	}
}

// TestLRUnlearnTakesTheStepBack: learning a message and unlearning it
// leaves the weights as they were; learning it as the other class leaves
// the weights as if it had been learnt as that class alone.
func TestLRUnlearnTakesTheStepBack(t *testing.T) {
	m := lrModel(NewMemoryStore())
	if err := train(m, 0, 20); err != nil {
		t.Fatal(err)
	}
	probe := synthMessage(true, 7000)
	before := margin(t, m, probe)
	odd := synthMessage(true, 7001)
	if _, err := m.Learn(odd, Spam); err != nil {
		t.Fatal(err)
	}
	if margin(t, m, probe) == before {
		t.Fatal("learning a similar spam did not move the probe")
	}
	if ok, err := m.Unlearn(odd); !ok || err != nil {
		t.Fatalf("unlearn: %v %v", ok, err)
	}
	if after := margin(t, m, probe); math.Abs(after-before) > 1e-4 {
		t.Errorf("margin %v after learn+unlearn, %v before", after, before)
	}
	// Learnt as spam then moved to ham: the spam step is gone, a ham
	// step taken.
	if _, err := m.Learn(odd, Spam); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Learn(odd, Ham); err != nil {
		t.Fatal(err)
	}
	if after := margin(t, m, probe); after >= before {
		t.Errorf("margin %v after moving a spam to ham, want below %v", after, before)
	}
	// Learning it as ham again is a duplicate: nothing moves.
	g := margin(t, m, probe)
	if ok, _ := m.Learn(odd, Ham); ok || margin(t, m, probe) != g {
		t.Error("a duplicate learn moved the weights")
	}
}

// TestLRWeightsSurviveSave: the weights and the steps are in the file.
func TestLRWeightsSurviveSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.model")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	m := lrModel(s)
	if err := train(m, 0, 30); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	probe := synthMessage(true, 8000)
	want := margin(t, m, probe)
	s2, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	m2 := lrModel(s2)
	if got := margin(t, m2, probe); got != want {
		t.Errorf("margin %v after reopening, %v before", got, want)
	}
	// The reopened model can still take a step back.
	if ok, err := m2.Unlearn(synthMessage(true, 3)); !ok || err != nil {
		t.Fatalf("unlearn after reopen: %v %v", ok, err)
	}
	if got := margin(t, m2, probe); got >= want {
		t.Errorf("unlearning a spam after reopening left the margin at %v (was %v)", got, want)
	}
	st1, _ := s.Stats()
	if st1.Weights == 0 {
		t.Error("no weights")
	}
}

// TestVersion1FileReads: a model file written before the regression
// existed opens with no weights, and scores as Fisher alone. The file is
// a frozen copy of the example model as it was written then
// (testdata/model-v1.bayes), so the check cannot lapse when the example
// is regenerated in a newer format.
func TestVersion1FileReads(t *testing.T) {
	path := filepath.Join("testdata", "model-v1.bayes")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), magicV1) {
		t.Fatalf("%s does not start with %q", path, magicV1)
	}
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.Stats()
	if st.Weights != 0 || st.Spam == 0 {
		t.Fatalf("stats %+v", st)
	}
	res, err := lrModel(s).Classify(engine.NewMessage(engine.Envelope{}, synthMessage(true, 5000)))
	if err != nil || res.Spam != res.Fisher {
		t.Errorf("with no weights the score %v must be Fisher's %v (%v)", res.Spam, res.Fisher, err)
	}
}

// FuzzDecodeModel: whatever the file holds, reading it fails cleanly or
// yields a model.
func FuzzDecodeModel(f *testing.F) {
	m := lrModel(NewMemoryStore())
	if err := train(m, 0, 3); err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := m.store.(*FileStore).st.encode(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(magic))
	f.Add([]byte(magicV1 + strings.Repeat("\xff", 40)))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeModel(bufio.NewReader(bytes.NewReader(data)))
		if err == nil && st.w != nil && len(st.w) != 1<<lrBits {
			t.Fatalf("a table of %d weights", len(st.w))
		}
	})
}

// TestLRStepIndependentOfLength: with features worth 1/√n, one learn moves
// the learnt message's own margin by Rate × (truth − score), however many
// features it has; unnormalised, a message twice as long moves its margin
// about twice as far.
func TestLRStepIndependentOfLength(t *testing.T) {
	short := synthMessage(true, 8000)
	long := append([]byte(nil), short...)
	for i := range 200 {
		long = append(long, fmt.Sprintf("\nline %d of a much longer body, word%d", i, i*7919)...)
	}
	moved := func(o LROptions, raw []byte) (got, want float64) {
		m := NewModelLR(NewMemoryStore(), DefaultOptions, DefaultParams, o)
		if err := train(m, 0, 10); err != nil {
			t.Fatal(err)
		}
		before := margin(t, m, raw)
		if _, err := m.Learn(raw, Spam); err != nil {
			t.Fatal(err)
		}
		return margin(t, m, raw) - before, o.Rate * (1 - sigmoid(before))
	}
	for _, raw := range [][]byte{short, long} {
		got, want := moved(DefaultLR, raw)
		if math.Abs(got-want) > 1e-3*math.Max(1, want) {
			t.Errorf("normalised: a %d-byte message's margin moved %v, want Rate×(1−p) = %v", len(raw), got, want)
		}
	}
	plain := DefaultLR
	plain.Norm, plain.Rate = false, 0.01
	gs, ws := moved(plain, short)
	gl, wl := moved(plain, long)
	if gl/wl < 1.5*gs/ws {
		t.Errorf("unnormalised: the long message moved %v×Rate×(1−p), the short %v×; want the long one to move further", gl/wl, gs/ws)
	}
}

// TestLRCapLiftsOnlyForConvicted: below the junk threshold the regression
// may only lower the counts' score of a message the counts know little of
// (known share 0 here; TestLRKnownLiftsCap for the rest), so it never
// junks such a message on its own; at or above it, it moves the score
// either way.
func TestLRCapLiftsOnlyForConvicted(t *testing.T) {
	o := DefaultLR
	o.Squeeze, o.Bound, o.Gain = 0, 0, 0 // the flat cap (TestLRSqueezeStaysInBand)
	o.VetoFull = 0                       // a veto in full (TestLRKnownWeighsVeto)
	for _, c := range []struct {
		fisher, margin float64
		want           float64 // combined log-odds
	}{
		{0.5, 3, logit(0.5)},
		{0.98, 10, logit(0.98)},
		{0.98, -2, logit(0.98) - 2},
		{JunkAt, 3, logit(JunkAt) + 3},
		{0.999, 5, logit(0.999) + 5},
		{0.999, -5, logit(0.999) - 5},
	} {
		if got := o.join(c.margin, c.fisher, 0); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("join(margin %v, fisher %v) = %v, want %v", c.margin, c.fisher, got, c.want)
		}
		if p := sigmoid(o.join(c.margin, c.fisher, 0)); c.fisher < JunkAt && p >= JunkAt {
			t.Errorf("fisher %v, margin %v: combined %v reaches the junk threshold the counts did not", c.fisher, c.margin, p)
		}
	}
	o.Convicted = 0
	if got := o.join(5, 0.999, 0); got != logit(0.999) {
		t.Errorf("with the cap everywhere, join(5, 0.999) = %v, want %v", got, logit(0.999))
	}
}

// TestLRSqueezeStaysInBand: with the default squeeze a margin the cap
// holds back still raises the score, more for a larger margin, but never
// across a threshold bayes.spam is read at (0.01, 0.5, 0.9, 0.99) that the counts'
// score was below; a negative margin lowers it as before, and from the
// junk threshold up the join is the plain sum.
func TestLRSqueezeStaysInBand(t *testing.T) {
	o := DefaultLR
	edges := ruleEdges[:]
	band := func(p float64) int {
		n := 0
		for _, e := range edges {
			if p >= e {
				n++
			}
		}
		return n
	}
	for _, f := range []float64{1e-12, 0.001, 0.0099999, 0.01, 0.3, 0.4999999, 0.5, 0.7, 0.8999999, 0.9, 0.95, 0.989, 0.98999999} {
		counts := sigmoid(o.Bayes * o.logitFisher(f))
		prev := o.join(0, f, 0)
		if math.Abs(prev-o.logitFisher(f)) > 1e-12 {
			t.Errorf("fisher %v, margin 0: %v, want the counts' %v", f, prev, o.logitFisher(f))
		}
		for _, m := range []float64{0.1, 1, 3, 10, 100, 1e6} {
			z := o.join(m, f, 0)
			if p := sigmoid(z); band(p) != band(counts) {
				t.Errorf("fisher %v, margin %v: score %v left the counts' band (%v)", f, m, p, counts)
			}
			// Rising with the margin; strictly while tanh has not
			// saturated and the counts are not on the edge already.
			if z < prev || z == prev && m <= 10 && f != 0.9 && f != 0.5 {
				t.Errorf("fisher %v: margin %v gives %v, not above the smaller margin's %v", f, m, z, prev)
			}
			prev = z
		}
		if got, want := o.join(-2, f, 1), o.logitFisher(f)-2; got != want {
			t.Errorf("fisher %v, margin -2, every token known: %v, want %v", f, got, want)
		}
	}
	for _, f := range []float64{JunkAt, 0.999, 1} {
		// Convicted: a veto counts as it is, a positive margin Gain
		// times (it only orders messages junked anyway).
		if got, want := o.join(-4, f, 0), -4+o.logitFisher(f); got != want {
			t.Errorf("fisher %v, margin -4: %v, want the sum %v", f, got, want)
		}
		if got, want := o.join(4, f, 0), 4*o.Gain+o.logitFisher(f); got != want || o.Gain <= 1 {
			t.Errorf("fisher %v, margin 4: %v, want %v (gain %v)", f, got, want, o.Gain)
		}
	}
	// The bound: a saturated Fisher score no longer outweighs a strong
	// ham margin.
	if p := sigmoid(o.join(-20, 1, 0)); p >= 0.5 {
		t.Errorf("fisher 1, margin -20: %v, want below 0.5 (log-odds bounded at %v)", p, o.logitFisher(1))
	}
}

// TestLRKnownLiftsCap: the cap holds for a message whose tokens the
// counts mostly never saw, and gives way in proportion as more of them are
// known, wholly when every one is: there the regression may junk a message
// the counts did not. A negative margin and a convicted message are joined
// as before whatever the share.
func TestLRKnownLiftsCap(t *testing.T) {
	o := DefaultLR
	if o.KnownFrom <= 0 || o.KnownFrom >= 1 {
		t.Fatalf("DefaultLR.KnownFrom = %v, want a share in (0, 1)", o.KnownFrom)
	}
	const fisher, margin = 0.95, 8.0
	free := margin + o.logitFisher(fisher)
	held := o.join(margin, fisher, 0)
	if sigmoid(held) >= JunkAt || sigmoid(free) < JunkAt {
		t.Fatalf("setup: held %v, free %v; want the cap to keep it below %v and the sum above", sigmoid(held), sigmoid(free), JunkAt)
	}
	if got := o.join(margin, fisher, o.KnownFrom); got != held {
		t.Errorf("known share %v (KnownFrom): %v, want the held %v", o.KnownFrom, got, held)
	}
	if got := o.join(margin, fisher, 1); math.Abs(got-free) > 1e-12 {
		t.Errorf("every token known: %v, want the free sum %v", got, free)
	}
	prev := held
	for _, k := range []float64{0.75, 0.8, 0.9, 0.95, 1} {
		z := o.join(margin, fisher, k)
		if z <= prev {
			t.Errorf("known share %v: %v, not above the smaller share's %v", k, z, prev)
		}
		prev = z
	}
	for _, k := range []float64{0, 0.5, 0.9, 1} {
		if got, want := o.join(4, 0.999, k), 4*o.Gain+o.logitFisher(0.999); got != want {
			t.Errorf("known %v, convicted: %v, want %v", k, got, want)
		}
		// Rising with the margin at any share.
		lo, hi := o.join(1, 0.6, k), o.join(5, 0.6, k)
		if hi <= lo {
			t.Errorf("known %v: margin 5 gives %v, not above margin 1's %v", k, hi, lo)
		}
	}
	o.KnownFrom = 0
	if got := o.join(margin, fisher, 1); got != held {
		t.Errorf("KnownFrom 0, every token known: %v, want the held %v", got, held)
	}
}

// TestLRKnownWeighsVeto: on a message the counts do not convict, a
// negative margin counts in full once the counts know VetoFull of its
// tokens, and less below: the score is lifted towards the counts' own,
// never past what the weighing asks, and never across a threshold the
// rules or the autolearner read (vetoEdges) that the full veto put it
// under. On a convicted message it counts in full whatever the share, so
// no junk verdict moves.
func TestLRKnownWeighsVeto(t *testing.T) {
	o := DefaultLR
	if o.VetoFrom <= 0 || o.VetoFull <= o.VetoFrom || o.VetoFull >= 1 {
		t.Fatalf("DefaultLR veto weighing %v-%v, want 0 < from < full < 1", o.VetoFrom, o.VetoFull)
	}
	band := func(z float64) int {
		n := 0
		for _, e := range vetoEdges {
			if sigmoid(z) >= e {
				n++
			}
		}
		return n
	}
	fishers := []float64{1e-12, 0.0005, 0.001, 0.3, 0.5, 0.95, 0.98999, JunkAt, 0.999}
	for _, fisher := range fishers {
		base := o.logitFisher(fisher)
		for _, m := range []float64{-0.5, -3, -12} {
			full := base + m
			if got := o.join(m, fisher, o.VetoFull); math.Abs(got-full) > 1e-12 {
				t.Errorf("fisher %v, margin %v, known %v: %v, want the full veto %v", fisher, m, o.VetoFull, got, full)
			}
			prev := full
			for _, k := range []float64{0.55, 0.45, 0.3, 0} {
				z := o.join(m, fisher, k)
				if fisher >= o.Convicted {
					if z != full {
						t.Errorf("convicted %v, margin %v, known %v: %v, want the full veto %v", fisher, m, k, z, full)
					}
					continue
				}
				asked := base + ramp(k, o.VetoFrom, o.VetoFull)*m
				if z < prev || z > asked+1e-12 {
					t.Errorf("fisher %v, margin %v, known %v: %v, want between %v (more known) and %v (what the weighing asks)", fisher, m, k, z, prev, asked)
				}
				if band(z) != band(full) {
					t.Errorf("fisher %v, margin %v, known %v: score %v left the full veto's band (%v)", fisher, m, k, sigmoid(z), sigmoid(full))
				}
				prev = z
			}
			// Strictly lifted somewhere: the weighing is on.
			if fisher < o.Convicted && !(o.join(m, fisher, 0) > full) {
				t.Errorf("fisher %v, margin %v, known 0: %v, not above the full veto %v", fisher, m, o.join(m, fisher, 0), full)
			}
		}
		// A stronger veto still scores lower at any share.
		for _, k := range []float64{0, 0.45, 1} {
			if lo, hi := o.join(-6, fisher, k), o.join(-1, fisher, k); !(lo < hi) {
				t.Errorf("fisher %v, known %v: margin -6 gives %v, not below margin -1's %v", fisher, k, lo, hi)
			}
		}
	}
	o.VetoFull = 0
	for _, k := range []float64{0, 0.45, 1} {
		if got, want := o.join(-3, 0.95, k), o.logitFisher(0.95)-3; got != want {
			t.Errorf("VetoFull 0, known %v: %v, want the veto in full %v", k, got, want)
		}
	}
}

// TestKnownShare: Classify reports how many of the message's tokens the
// counts have seen, the share the join reads: none on an empty model,
// all once the message itself was learnt, some for a new message of a
// learnt kind.
func TestKnownShare(t *testing.T) {
	m := lrModel(NewMemoryStore())
	msg := synthMessage(true, 1)
	classify := func(raw []byte) Result {
		t.Helper()
		res, err := m.Classify(engine.NewMessage(engine.Envelope{}, raw))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	want := len(m.opts.Tokenize(engine.NewMessage(engine.Envelope{}, msg)))
	if res := classify(msg); res.Tokens != want || res.Known != 0 || res.KnownShare() != 0 {
		t.Errorf("empty model: %d of %d tokens known (share %v), want 0 of %d", res.Known, res.Tokens, res.KnownShare(), want)
	}
	if _, err := m.Learn(msg, Spam); err != nil {
		t.Fatal(err)
	}
	if res := classify(msg); res.Known != want || res.KnownShare() != 1 {
		t.Errorf("learnt: %d of %d tokens known (share %v), want all", res.Known, res.Tokens, res.KnownShare())
	}
	if err := train(m, 2, 20); err != nil {
		t.Fatal(err)
	}
	if k := classify(synthMessage(true, 100)).KnownShare(); k <= 0.5 || k >= 1 {
		t.Errorf("a new message of a learnt kind: share %v, want most but not all of its tokens known (its number and Message-ID are new)", k)
	}
	if (Result{}).KnownShare() != 0 {
		t.Error("no tokens: want share 0")
	}

	// Classify joins at the message's own share: among messages mixing
	// the two vocabularies (the counts unsure, the regression leaning to
	// spam), one whose tokens the counts mostly know scores above what
	// the cap alone would give it, and one they know less of scores
	// exactly that.
	if err := train(m, 22, 180); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	var lifted, held int
	for range 100 {
		var body []string
		for range 40 {
			if r.IntN(10) < 4 {
				body = append(body, spamWords[r.IntN(len(spamWords))])
			} else {
				body = append(body, hamWords[r.IntN(len(hamWords))])
			}
		}
		res := classify(fmt.Appendf(nil, "From: promo@deals.example\r\nSubject: Re: project\r\n\r\n%s\r\n", strings.Join(body, " ")))
		if res.Margin <= 0.2 || res.Fisher >= 0.9 {
			continue
		}
		capped := sigmoid(m.lr.join(res.Margin, res.Fisher, 0))
		switch share := res.KnownShare(); {
		case share > m.lr.KnownFrom+0.02:
			lifted++
			if res.Spam <= capped {
				t.Errorf("known share %.2f, margin %.2f: score %v, want above the capped %v", share, res.Margin, res.Spam, capped)
			}
		case share <= m.lr.KnownFrom:
			held++
			if res.Spam != capped {
				t.Errorf("known share %.2f, margin %.2f: score %v, want the capped %v", share, res.Margin, res.Spam, capped)
			}
		}
	}
	if lifted == 0 || held == 0 {
		t.Fatalf("setup: %d messages well known and %d less known with a spam margin the counts did not share; want some of each", lifted, held)
	}
}

// TestTailGrams: the last Tail bytes of a message longer than Bytes give
// features of their own, so a change in a long message's footer changes
// its features; a message no longer than Bytes gives none twice.
func TestTailGrams(t *testing.T) {
	o := LROptions{On: true, Grams: 4, Bytes: 100, Tail: 50}
	body := strings.Repeat("lorem ipsum dolor sit amet ", 20) // 540 bytes
	a := o.features([]byte(body+"unsubscribe here"), nil)
	b := o.features([]byte(body+"reply to the list"), nil)
	if slices.Equal(sorted(a), sorted(b)) {
		t.Error("two long messages differing only in their last bytes have the same features")
	}
	head := o
	head.Tail = 0
	if got, want := len(a), len(head.features([]byte(body+"unsubscribe here"), nil)); got <= want {
		t.Errorf("with the tail: %d features, without: %d; want more with it", got, want)
	}
	short := []byte(body[:90])
	if got, want := len(o.features(short, nil)), len(head.features(short, nil)); got != want {
		t.Errorf("a message within Bytes: %d features with Tail, %d without; want the same", got, want)
	}
}

func sorted(x []uint32) []uint32 {
	x = slices.Clone(x)
	slices.Sort(x)
	return x
}

// TestOSBFeatures: an orthogonal sparse bigram is a pair of words and
// their distance, wherever in the message it stands; the order and the
// distance are part of it, and line ends are whitespace like any other.
func TestOSBFeatures(t *testing.T) {
	o := LROptions{On: true, Bytes: 1000, OSB: 2}
	set := func(s string) map[uint32]bool {
		out := map[uint32]bool{}
		for _, f := range o.features([]byte(s), nil) {
			out[f] = true
		}
		return out
	}
	abc := set("alpha beta gamma")
	if len(abc) != 3 {
		t.Fatalf("alpha beta gamma: %d features, want 3 ((a,b,1) (b,g,1) (a,g,2))", len(abc))
	}
	shared := 0
	for f := range set("zeta alpha beta") {
		if abc[f] {
			shared++
		}
	}
	if shared != 1 {
		t.Errorf("zeta alpha beta shares %d features with alpha beta gamma, want 1 (alpha, beta at distance 1)", shared)
	}
	for f := range set("beta alpha gamma") {
		if abc[f] {
			t.Errorf("beta alpha gamma shares feature %d with alpha beta gamma: order or distance ignored", f)
		}
	}
	crlf := set("alpha\r\nbeta\tgamma")
	if len(crlf) != len(abc) {
		t.Fatalf("CRLF and tab: %d features, want %d", len(crlf), len(abc))
	}
	for f := range abc {
		if !crlf[f] {
			t.Errorf("feature %d of alpha beta gamma missing when the words are separated by CRLF and a tab", f)
		}
	}
	if n := len(set("alpha beta gamma delta epsilon")); n != 7 {
		t.Errorf("five words, window 2: %d features, want 4 + 3", n)
	}
}
