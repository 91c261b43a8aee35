package main

import (
	"time"

	"strings"

	"github.com/sluicemail/sluice/stages/bayes"
)

// ppmLearner drives the compression model through the protocol, alone
// (`-learner ppm:…`) or beside the stage's learner (`-beside ppm:…`, whose
// difference and score go to -scores so that joins can be measured
// offline: join.go).
type ppmLearner struct {
	m *ppm
	// The difference of the message last scored, so that learning it
	// calibrates on the score it was given, not one it would get after.
	last  []byte
	lastD float64
}

func newPPMLearner(name string) (*ppmLearner, bool, error) {
	spec, ok := strings.CutPrefix(name, "ppm:")
	if !ok {
		if name != "ppm" {
			return nil, false, nil
		}
		spec = ""
	}
	o, err := parsePPM(spec)
	if err != nil {
		return nil, true, err
	}
	return &ppmLearner{m: newPPM(o)}, true, nil
}

// scoreD is the message's difference D and calibrated probability.
func (l *ppmLearner) scoreD(raw []byte) (d, p float64) {
	d = l.m.diff(raw)
	l.last, l.lastD = raw, d
	return d, sigmoid(l.m.logOdds(d))
}

func (l *ppmLearner) score(raw []byte) (bayes.Result, error) {
	_, p := l.scoreD(raw)
	return bayes.Result{Spam: p}, nil
}

// learn codes the message into its class. A correction is learnt once,
// like any other message.
func (l *ppmLearner) learn(raw []byte, spam, _ bool) error {
	d := l.lastD
	if !sameBytes(raw, l.last) {
		d = l.m.diff(raw)
	}
	l.m.learnMsg(raw, spam, d)
	return nil
}

func (l *ppmLearner) size() int { return l.m.bytesUsed() }

// sameBytes is whether a and b are the same slice (not merely equal).
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// besideClassify and besideLearn are the compression model's throughput
// in the static split (-beside), printed after the stage's.
var besideClassify, besideLearn string

// besideStatic trains the -beside model on the training messages (in the
// order the stage learns them) and scores the held-out ones, timing
// each apart from the stage; nil without -beside.
func besideStatic(train, test []*msg) (d, p []float64) {
	if besideName == "" {
		return nil, nil
	}
	l, _, err := newPPMLearner(besideName)
	if err != nil {
		return nil, nil
	}
	// Each training message is scored first (the calibration learns on
	// the score given); only the learning is timed.
	var wall, cpu time.Duration
	for _, x := range interleave(train) {
		l.scoreD(x.raw)
		w, c := time.Now(), cpuTime()
		if err := l.learn(x.raw, x.spam, false); err != nil {
			return nil, nil
		}
		wall, cpu = wall+time.Since(w), cpu+cpuTime()-c
	}
	besideLearn = rate(len(train), wall, cpu)
	d, p = make([]float64, len(test)), make([]float64, len(test))
	besideClassify = bestOf(3, len(test), func() {
		for i, x := range test {
			d[i], p[i] = l.scoreD(x.raw)
		}
	})
	return d, p
}
