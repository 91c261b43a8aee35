// Command bayes measures the accuracy and speed of the Bayes stage on the
// SpamAssassin public corpus (fetched by run.sh): it trains on easy-ham-1 and
// spam-1, classifies the held-out easy-ham-2, hard-ham-1 and spam-2, and
// prints the confusion at three thresholds with the throughput of
// classification and training. With -online it runs the TREC spam track's
// immediate-feedback protocol over all five groups instead (online.go). With -cv it instead cross-validates the
// tokenizer's features on the training groups only, which is where every
// choice was tuned; the held-out groups are never used to tune.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages/bayes"
)

// msg is one corpus message, parsed once and shared by every variant.
type msg struct {
	group string
	spam  bool
	raw   []byte
	m     *engine.Message
}

func (x *msg) easy() bool { return strings.HasPrefix(x.group, "easy-ham") }

func main() {
	corpus := flag.String("corpus", filepath.Join(os.Getenv("HOME"), ".cache/sluice-corpus/package/data"), "the corpus's data directory")
	cv := flag.Bool("cv", false, "cross-validate tokenizer features on the training groups instead")
	folds := flag.Int("folds", 5, "folds for -cv")
	speed := flag.Bool("speed", false, "only measure throughput (no accuracy is printed)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the classification loop to this file")
	memprofile := flag.String("memprofile", "", "write a profile of what the classification loop allocates to this file")
	on := flag.Bool("online", false, "run the TREC immediate-feedback protocol over all five groups instead")
	order := flag.String("order", "shuffle", "with -online: shuffle (seeded) or date (by the Date header)")
	seed := flag.Uint64("seed", 1, "with -online -order shuffle: the shuffle's seed")
	feedback := flag.String("feedback", "all", "with -online: all (learn every message), errors (only the misjudged) or errors+auto (those, and the confident verdicts autolearnt: -auto-spam, -auto-ham)")
	autoSpam := flag.Float64("auto-spam", 0.999, "with -feedback errors+auto: autolearn as spam from this score")
	autoHam := flag.Float64("auto-ham", 0.001, "with -feedback errors+auto: autolearn as ham up to this score")
	autoCap := flag.Int("auto-per-sender", 0, "with -feedback errors+auto: the autolearner's cap per sender domain a day (0: its default)")
	autoKnown := flag.Bool("auto-known", false, "with -feedback errors+auto: also learn as ham, at delivery, mail below -errors-at from a sender whose mail the user took out of Junk (a rule's learn: ham on sender.known)")
	errorsAt := flag.Float64("errors-at", junkAt, "with -feedback errors: a message is misjudged when its score is on the wrong side of this (default: the junk threshold, where a user sees the mistake)")
	learnerName := flag.String("learner", "default", "the learner configuration (default: the stage's; fisher: the counts alone, as before the regression; lr:w=…,r=…,up=…: see parseLR; ppm:k=…,bytes=…: the compression model alone, online only, see parsePPM)")
	block := flag.Int("block", 500, "with -online: messages per point of the learning curve")
	scoresTo := flag.String("scores", "", "write each message scored (the first pass of the static split) to this file: its group, the Fisher score and the regression's margin, so that ways of joining the two can be tried offline")
	besideSpec := flag.String("beside", "", "a compression model (ppm:key=value,…; ppm.go) scored and learnt beside the learner, its difference and score written to -scores, its figures printed")
	join := flag.String("join", "", "read a -scores file written with -beside and print the figures of each way of joining the compression model with the stage's score (join.go), instead of running")
	besideJoinName := flag.String("beside-join", "", "with -online -beside: report and correct on this join of the two scores (a name -join prints)")
	flag.Parse()
	profile, memProfile = *cpuprofile, *memprofile
	besideName, besideJoin = *besideSpec, *besideJoinName
	if *join != "" {
		if err := joins(*join); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if besideName != "" {
		if _, ok, err := newPPMLearner(besideName); !ok || err != nil {
			fmt.Fprintln(os.Stderr, "-beside:", besideName, err)
			os.Exit(2)
		}
	}
	if _, err := newLearner(*learnerName); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	staticLearner = *learnerName
	if *scoresTo != "" {
		if err := openScores(*scoresTo); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	if *on {
		if *feedback != "all" && *feedback != "errors" && *feedback != "errors+auto" {
			fmt.Fprintf(os.Stderr, "-feedback must be all, errors or errors+auto, not %q\n", *feedback)
			os.Exit(2)
		}
		all, err := load(*corpus, "easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2")
		if err == nil {
			runtime.LockOSThread()
			err = online(all, onlineRun{order: *order, seed: *seed, feedback: *feedback, errorsAt: *errorsAt,
				learner: *learnerName, block: max(*block, 1),
				auto: bayes.AutolearnSettings{Spam: *autoSpam, Ham: *autoHam, PerSender: *autoCap}, autoKnown: *autoKnown})
		}
		if err == nil {
			err = closeScores()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}

	train, err := load(*corpus, "easy-ham-1", "spam-1")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *cv {
		crossValidate(train, *folds)
		return
	}
	test, err := load(*corpus, "easy-ham-2", "hard-ham-1", "spam-2")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *speed {
		// Throughput alone: the scores are thrown away unseen.
		_, classify, learn := measure(train, test)
		fmt.Printf("classification: %s\ntraining: %s\nfloor: %s\n", classify, learn, floor)
		return
	}
	heldOut(train, test)
	if err := closeScores(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func load(dir string, groups ...string) ([]*msg, error) {
	var out []*msg
	for _, g := range groups {
		files, err := filepath.Glob(filepath.Join(dir, g, "*.txt"))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("no messages in %s/%s (run bench/bayes/run.sh): %v", dir, g, err)
		}
		sort.Strings(files)
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			raw = bayes.TrimFromLine(raw)
			out = append(out, &msg{group: g, spam: strings.HasPrefix(g, "spam"), raw: raw})
		}
	}
	return out, nil
}

// heldOut trains the stage's model on the training groups and reports the
// figures on the held-out groups.
func heldOut(train, test []*msg) {
	scores, classify, learn := measure(train, test)
	fmt.Printf("trained on easy-ham-1 + spam-1 (%d messages); held out: easy-ham-2 + hard-ham-1 + spam-2 (%d)\n\n", len(train), len(test))
	report(test, scores)
	fmt.Printf("\nthroughput (one goroutine, corpus in memory, best of 3 passes; per core = messages per CPU-second of the process):\n")
	fmt.Printf("  classification (MIME parse + tokenize + score): %s\n", classify)
	fmt.Printf("  training (MIME parse + tokenize + count):       %s\n", learn)
	fmt.Printf("  floor (engine MIME decode + strings.Fields):     %s\n", floor)
	if besideName != "" {
		fmt.Printf("  %s beside: classification %s\n  %s beside: training %s\n", besideName, besideClassify, besideName, besideLearn)
	}
}

// measure trains a model of the stage's kind on train and scores test,
// timing both in wall-clock and CPU time: on a shared machine the CPU time
// is the honest per-core figure.
func measure(train, test []*msg) (scores []float64, classify, learn string) {
	model, err := makeModel(staticLearner)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	besideD, besideP := besideStatic(train, test)
	w, c := time.Now(), cpuTime()
	for _, x := range interleave(train) {
		class := bayes.Ham
		if x.spam {
			class = bayes.Spam
		}
		if _, err := model.Learn(x.raw, class); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	learn = rate(len(train), time.Since(w), cpuTime()-c)

	// Classification from raw bytes: parse, tokenize, score. The best of
	// three passes, as the machine is shared and a pass can be slowed by
	// others.
	stop := startProfile()
	scores = make([]float64, len(test))
	pass := 0
	classify = bestOf(3, len(test), func() {
		for i, x := range test {
			res, err := model.Classify(engine.NewMessage(engine.Envelope{}, x.raw))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			scores[i] = res.Spam
			if pass == 0 {
				var extra []float64
				if besideD != nil {
					extra = []float64{besideD[i], besideP[i]}
				}
				writeScore(x, res, extra...)
			}
		}
		pass++
	})
	stop()

	// The floor: go-message's MIME decode (engine.Body) and a plain word
	// split of the text, under the same conditions.
	words := 0
	floor = bestOf(3, len(test), func() {
		for _, x := range test {
			words += len(strings.Fields(engine.NewMessage(engine.Envelope{}, x.raw).Body().Text))
		}
	})
	return scores, classify, learn
}

// interleave returns the training messages with spam and ham mixed in
// proportion, each class in file order, as `sluice train` learns them: the
// regression learns online, and all the ham and then all the spam would
// tilt it towards spam.
func interleave(train []*msg) []*msg {
	var spam, ham []*msg
	for _, x := range train {
		if x.spam {
			spam = append(spam, x)
		} else {
			ham = append(ham, x)
		}
	}
	out := make([]*msg, 0, len(train))
	var s, h int
	for s < len(spam) || h < len(ham) {
		if h == len(ham) || s < len(spam) && s*len(ham) <= h*len(spam) {
			out = append(out, spam[s])
			s++
		} else {
			out = append(out, ham[h])
			h++
		}
	}
	return out
}

// bestOf runs pass n times and reports the fastest in CPU time.
func bestOf(n, msgs int, pass func()) string {
	var bestCPU, bestWall time.Duration
	for i := 0; i < n; i++ {
		runtime.GC()
		w, c := time.Now(), cpuTime()
		pass()
		cpu, wall := cpuTime()-c, time.Since(w)
		if i == 0 || cpu < bestCPU {
			bestCPU, bestWall = cpu, wall
		}
	}
	return rate(msgs, bestWall, bestCPU)
}

// staticLearner names the learner the static split and -speed train.
var staticLearner = "default"

// floor is the throughput of a bare MIME decode and word split.
var floor string

func rate(n int, wall, cpu time.Duration) string {
	return fmt.Sprintf("%.0f messages/s/core (%.0f µs CPU each; wall clock %.0f messages/s)",
		float64(n)/cpu.Seconds(), cpu.Seconds()*1e6/float64(n), float64(n)/wall.Seconds())
}

// report prints the confusion at each threshold.
func report(test []*msg, scores []float64) {
	var ham, easy, hard, spam int
	for _, x := range test {
		switch {
		case x.spam:
			spam++
		case x.easy():
			easy++
			ham++
		default:
			hard++
			ham++
		}
	}
	fmt.Printf("%-9s | %-22s | %-20s | %-20s | %-20s\n", "threshold", "ham flagged (all)", "easy ham flagged", "hard ham flagged", "spam recall")
	fmt.Println(strings.Repeat("-", 103))
	for _, th := range []float64{0.5, 0.9, 0.99} {
		var fpAll, fpEasy, fpHard, tp int
		for i, x := range test {
			if scores[i] < th {
				continue
			}
			switch {
			case x.spam:
				tp++
			case x.easy():
				fpEasy++
				fpAll++
			default:
				fpHard++
				fpAll++
			}
		}
		fmt.Printf("%-9.2f | %4d/%d = %6.2f %% | %4d/%d = %5.2f %% | %4d/%d = %5.1f %% | %4d/%d = %5.1f %%\n",
			th, fpAll, ham, pct(fpAll, ham), fpEasy, easy, pct(fpEasy, easy), fpHard, hard, pct(fpHard, hard),
			tp, spam, pct(tp, spam))
	}
	var unsure int
	for _, s := range scores {
		if s > 0.2 && s < 0.8 {
			unsure++
		}
	}
	fmt.Printf("unsure (0.2 < score < 0.8): %d of %d\n", unsure, len(scores))
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
