package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/bayes"
)

// The online protocol is the TREC spam track's immediate-feedback run: the
// messages of all five groups arrive one at a time, the filter scores each
// before it may learn it, then is told the truth; the figures are over the
// scores given before learning, for the whole stream, from an empty model.

// onlineRun is one run's settings.
type onlineRun struct {
	order    string  // "shuffle" or "date"
	seed     uint64  // of the shuffle
	feedback string  // "all": learn every message; "errors": only those misjudged; "errors+auto": those, and the confident verdicts autolearnt
	errorsAt float64 // with "errors": a message is misjudged when its score is on the wrong side of this
	learner  string  // which learner (see learners)
	block    int     // messages per point of the learning curve
	auto     bayes.AutolearnSettings
	// autoKnown adds, with "errors+auto", the rule a server can write
	// with sender.known (a sender whose mail the user took out of Junk):
	// `learn: ham` when `sender.known and bayes.spam < 0.99`, at delivery,
	// within the autolearner's guards.
	autoKnown bool
}

// autoEvery is the simulated time between two messages of the stream with
// -feedback errors+auto: the autolearner's per-sender cap counts in time
// (20 a day by default). One message every 15 minutes is a small site's
// mailbox; 6,046 messages are then 63 days.
const autoEvery = 15 * time.Minute

// junkAt is the score from which the example rules junk (bayes-spam in
// examples/rules/inbound.yaml); the learning curve counts errors there too.
const junkAt = 0.99

// online runs the protocol over all and prints the run's line and its
// learning curve.
func online(all []*msg, r onlineRun) error {
	stream, err := arrange(all, r.order, r.seed)
	if err != nil {
		return err
	}
	f, err := newLearner(r.learner)
	if err != nil {
		return err
	}
	scores := make([]float64, len(stream))
	spam := make([]bool, len(stream))
	var auto *bayes.Autolearner
	if r.feedback == "errors+auto" {
		if auto, err = bayes.NewAutolearner(f.(modelLearner).m, r.auto); err != nil {
			return err
		}
	}
	correcting := r.feedback != "all"
	var beside *ppmLearner
	var besideScores []float64
	var besideClassify, besideLearn time.Duration
	if besideName != "" {
		if beside, _, err = newPPMLearner(besideName); err != nil {
			return err
		}
		besideScores = make([]float64, len(stream))
	}
	var joined func(scored) float64
	if besideJoin != "" {
		if joined = joinNamed(besideJoin); joined == nil || beside == nil {
			return fmt.Errorf("-beside-join %q: no such join (join.go), or no -beside", besideJoin)
		}
	}
	var classify, learn time.Duration
	learnt, autolearnt, knownLearnt := 0, 0, 0
	known := map[string]bool{} // senders whose mail the user took out of Junk
	now := time.Date(2002, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, x := range stream {
		now = now.Add(autoEvery)
		t0 := threadCPU()
		res, err := f.score(x.raw)
		if err != nil {
			return err
		}
		s := res.Spam
		t1 := threadCPU()
		classify += t1 - t0
		var extra []float64
		if beside != nil {
			d, p := beside.scoreD(x.raw)
			besideScores[i] = p
			extra = []float64{d, p}
			if joined != nil {
				// The joined score is what the user sees: the run's
				// figures and its corrections are on it.
				s = sigmoid(joined(scored{s: res.Spam, d: d, p: p}))
			}
			t2 := threadCPU()
			besideClassify += t2 - t1
			t1 = t2
		}
		writeScore(x, res, extra...)
		scores[i], spam[i] = s, x.spam
		did := false // learnt anything: the CPU time since t1 is learning's
		if auto != nil {
			// The server learns its confident verdict at delivery,
			// before the user has seen the message.
			sender := senderOf(x.raw)
			class, err := auto.Consider(x.raw, s, sender, now)
			if err != nil {
				return err
			}
			if class == 0 && r.autoKnown && s < r.errorsAt && known[strings.ToLower(sender)] {
				if class, err = auto.Learn(x.raw, bayes.Ham, sender, now); err != nil {
					return err
				}
				if class != 0 {
					knownLearnt++
				}
			}
			if class != 0 {
				autolearnt++
				did = true
			}
		}
		wrong := (s >= r.errorsAt) != x.spam
		if r.feedback == "all" || wrong {
			if auto != nil {
				// The user's correction takes back what was
				// autolearnt of the message, as the Junk trainer does.
				if _, err := auto.Corrected(x.raw, now); err != nil {
					return err
				}
			}
			// Feedback on errors is a user's correction of what they saw.
			if err := f.learn(x.raw, x.spam, correcting); err != nil {
				return err
			}
			if correcting && !x.spam && s >= r.errorsAt {
				// Taken out of Junk: the server's sender book knows the
				// sender from now on.
				known[strings.ToLower(senderOf(x.raw))] = true
			}
			learnt++
			did = true
			if beside != nil {
				// The model beside learns what the stage learns, and its
				// CPU time is its own.
				t2 := threadCPU()
				if err := beside.learn(x.raw, x.spam, correcting); err != nil {
					return err
				}
				besideLearn += threadCPU() - t2
				t1 += threadCPU() - t2
			}
		}
		if did {
			learn += threadCPU() - t1
		}
	}
	tag := fmt.Sprintf("order=%s seed=%d feedback=%s", r.order, r.seed, r.feedback)
	fmt.Printf("online %s n=%d auc_miss=%.3f%% fpr@0.9=%.2f%% recall@0.9=%.2f%% fpr@0.99=%.2f%% recall@0.99=%.2f%%",
		tag, len(stream), 100*(1-auc(scores, spam)),
		100*fpr(scores, spam, 0.9), 100*recall(scores, spam, 0.9),
		100*fpr(scores, spam, 0.99), 100*recall(scores, spam, 0.99))
	fmt.Printf(" recall@fpr0.3=%.2f%%", 100*recallAtFPR(scores, spam, 0.003))
	fmt.Printf(" learner=%s learnt=%d model_bytes=%d", r.learner, learnt, f.size())
	if joined != nil {
		fmt.Printf(" joined=%q", besideJoin)
	}
	if correcting {
		fmt.Printf(" errors_at=%g", r.errorsAt)
	}
	if auto != nil {
		fmt.Printf(" auto_spam=%g auto_ham=%g autolearnt=%d", r.auto.Spam, r.auto.Ham, autolearnt)
		if r.autoKnown {
			fmt.Printf(" auto_known=%d", knownLearnt)
		}
	}
	fmt.Printf(" classify_us=%.0f learn_us=%.0f\n",
		float64(classify.Microseconds())/float64(len(stream)), float64(learn.Microseconds())/float64(max(learnt+autolearnt, 1)))
	if beside != nil {
		fmt.Printf("beside %s n=%d auc_miss=%.3f%% fpr@0.99=%.2f%% recall@0.99=%.2f%% recall@fpr0.3=%.2f%% learner=%s model_bytes=%d classify_us=%.0f learn_us=%.0f\n",
			tag, len(stream), 100*(1-auc(besideScores, spam)),
			100*fpr(besideScores, spam, 0.99), 100*recall(besideScores, spam, 0.99),
			100*recallAtFPR(besideScores, spam, 0.003), besideName, beside.size(),
			float64(besideClassify.Microseconds())/float64(len(stream)), float64(besideLearn.Microseconds())/float64(max(learnt, 1)))
	}
	for _, p := range curve(scores, spam, r.block) {
		fmt.Printf("curve %s learner=%s upto=%d n=%d errors=%d error_rate=%.2f%% fp@0.99=%d fn@0.99=%d\n",
			tag, r.learner, p.upto, p.n, p.errors, 100*float64(p.errors)/float64(p.n), p.fp, p.fn)
	}
	return nil
}

// arrange returns the stream in the run's order. The input is in file order
// (groups, then file names).
func arrange(all []*msg, order string, seed uint64) ([]*msg, error) {
	out := append([]*msg(nil), all...)
	switch order {
	case "shuffle":
		rand.New(rand.NewPCG(seed, 0x5eed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	case "date":
		byDate(out)
	default:
		return nil, fmt.Errorf("-order must be shuffle or date, not %q", order)
	}
	return out, nil
}

// byDate sorts by the Date header, stably. A message whose Date is missing
// or unparseable keeps its place in file order: the messages with a date
// are sorted among the other places.
func byDate(ms []*msg) {
	var places []int
	var dated []*msg
	when := map[*msg]time.Time{}
	for i, x := range ms {
		if t, ok := dateOf(x.raw); ok {
			places = append(places, i)
			dated = append(dated, x)
			when[x] = t
		}
	}
	sort.SliceStable(dated, func(i, j int) bool { return when[dated[i]].Before(when[dated[j]]) })
	for k, i := range places {
		ms[i] = dated[k]
	}
}

// senderOf is the address in a message's From header (what the
// autolearner caps by its domain), or "" when there is none.
func senderOf(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	if a, err := mail.ParseAddress(m.Header.Get("From")); err == nil {
		return a.Address
	}
	return m.Header.Get("From")
}

// dateOf parses a message's Date header.
func dateOf(raw []byte) (time.Time, bool) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return time.Time{}, false
	}
	t, err := mail.ParseDate(strings.TrimSpace(m.Header.Get("Date")))
	return t, err == nil
}

// point is one block of the learning curve.
type point struct {
	upto, n, errors, fp, fn int
}

// curve counts, per block of n messages in stream order, the errors at 0.5
// (either way) and the ham junked and spam missed at the junk threshold.
func curve(scores []float64, spam []bool, n int) []point {
	var out []point
	for i := 0; i < len(scores); i += n {
		p := point{upto: min(i+n, len(scores))}
		for j := i; j < p.upto; j++ {
			p.n++
			if (scores[j] >= 0.5) != spam[j] {
				p.errors++
			}
			if scores[j] >= junkAt && !spam[j] {
				p.fp++
			}
			if scores[j] < junkAt && spam[j] {
				p.fn++
			}
		}
		out = append(out, p)
	}
	return out
}

// learner is what the protocol drives: the stage's model, as configured.
type learner interface {
	score(raw []byte) (bayes.Result, error)
	learn(raw []byte, spam, correction bool) error
	size() int // bytes of the model as the file store writes it
}

// learners are the named configurations: "default" is the stage's,
// "fisher" the counts alone (the stage before the regression; the baseline
// runs called it "shipped").
var learners = map[string]func() *bayes.Model{
	"default": func() *bayes.Model { return bayes.NewModel(bayes.NewMemoryStore()) },
	"fisher": func() *bayes.Model {
		return bayes.NewModelWith(bayes.NewMemoryStore(), bayes.DefaultOptions, bayes.DefaultParams)
	},
}

// parseLR reads a learner named "lr:key=value,...": the stage's default
// regression with the named settings changed. Keys: w (the Fisher
// log-odds' weight), r (rate), up (the cap towards spam, "none" for no
// cap), conv (the Fisher score from which the cap is lifted, 0 for
// never), grams, bytes, tokens (0 or 1), norm (0 or 1: features worth 1/√n),
// known (the known share of tokens from which the cap gives way, 0 for
// never), veto (FROM-FULL: the shares over which a negative margin comes
// to count in full; "full" for in full everywhere), age (the counts' aging
// bound, the stage's aging.max_learns: halve every count when the messages
// learnt exceed it; 0 for never); and the counts' scorer's s, clues,
// minstrength, esf (Params). "lr:w=0" is the regression alone.
func parseLR(spec string) (*bayes.Model, error) {
	o, p := bayes.DefaultLR, bayes.DefaultParams
	age := 0
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "w":
			o.Bayes, err = strconv.ParseFloat(v, 64)
		case "r":
			o.Rate, err = strconv.ParseFloat(v, 64)
		case "up":
			if v == "none" {
				o.Capped = false
			} else {
				o.Capped = true
				o.Up, err = strconv.ParseFloat(v, 64)
			}
		case "conv":
			o.Convicted, err = strconv.ParseFloat(v, 64)
		case "osb":
			o.OSB, err = strconv.Atoi(v)
		case "grams":
			o.Grams, err = strconv.Atoi(v)
		case "bytes":
			o.Bytes, err = strconv.Atoi(v)
		case "tokens":
			o.Tokens = v == "1"
		case "thick":
			o.Thick, err = strconv.ParseFloat(v, 64)
		case "bound":
			o.Bound, err = strconv.ParseFloat(v, 64)
		case "tail":
			o.Tail, err = strconv.Atoi(v)
		case "gain":
			o.Gain, err = strconv.ParseFloat(v, 64)
		case "squeeze":
			o.Squeeze, err = strconv.ParseFloat(v, 64)
		case "norm":
			o.Norm = v == "1"
		case "known":
			o.KnownFrom, err = strconv.ParseFloat(v, 64)
		case "veto":
			if v == "full" {
				o.VetoFull = 0
			} else if from, full, ok := strings.Cut(v, "-"); !ok {
				err = fmt.Errorf("veto=%s: want FROM-FULL or full", v)
			} else if o.VetoFrom, err = strconv.ParseFloat(from, 64); err == nil {
				o.VetoFull, err = strconv.ParseFloat(full, 64)
			}
		case "s":
			p.Strength, err = strconv.ParseFloat(v, 64)
		case "clues":
			p.MaxClues, err = strconv.Atoi(v)
		case "minstrength":
			p.MinStrength, err = strconv.ParseFloat(v, 64)
		case "age":
			age, err = strconv.Atoi(v)
		case "esf":
			p.SpamESF, err = strconv.ParseFloat(v, 64)
			p.HamESF = p.SpamESF
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return nil, fmt.Errorf("-learner lr:%s: %v", spec, err)
		}
	}
	m := bayes.NewModelLR(bayes.NewMemoryStore(), bayes.DefaultOptions, p, o)
	if err := m.SetAging(age); err != nil {
		return nil, fmt.Errorf("-learner lr:%s: %v", spec, err)
	}
	return m, nil
}

func makeModel(name string) (*bayes.Model, error) {
	if spec, ok := strings.CutPrefix(name, "lr:"); ok {
		return parseLR(spec)
	}
	mk, ok := learners[name]
	if !ok {
		return nil, fmt.Errorf("-learner %q unknown; default, shipped, or lr:key=value,... (see parseLR)", name)
	}
	return mk(), nil
}

func newLearner(name string) (learner, error) {
	if l, ok, err := newPPMLearner(name); ok {
		return l, err
	}
	m, err := makeModel(name)
	if err != nil {
		return nil, err
	}
	return modelLearner{m}, nil
}

type modelLearner struct{ m *bayes.Model }

func (l modelLearner) score(raw []byte) (bayes.Result, error) {
	res, err := l.m.Classify(engine.NewMessage(engine.Envelope{}, raw))
	return res, err
}

func (l modelLearner) learn(raw []byte, spam, correction bool) error {
	class := bayes.Ham
	if spam {
		class = bayes.Spam
	}
	var err error
	if correction {
		_, err = l.m.Correct(raw, class)
	} else {
		_, err = l.m.Learn(raw, class)
	}
	return err
}

func (l modelLearner) size() int {
	n, err := l.m.EncodedSize()
	if err != nil {
		fmt.Fprintln(os.Stderr, "model size:", err)
		return -1
	}
	return n
}
