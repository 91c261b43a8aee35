package bayes

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// evaluate runs raw through a pipeline with the stage and two rules on its
// facts, and returns the facts and the names of the rules that fired.
func evaluate(t *testing.T, st engine.Stage, raw []byte, opts ...engine.TxOption) (engine.BayesFacts, []string) {
	t.Helper()
	junk, err := engine.Compile(`bayes.trained and bayes.spam >= 0.99`, true)
	if err != nil {
		t.Fatal(err)
	}
	unsure, err := engine.Compile(`bayes.trained and bayes.spam >= 0.5 and bayes.spam < 0.99`, true)
	if err != nil {
		t.Fatal(err)
	}
	p := &engine.Pipeline{Name: "inbound", Stages: map[string]engine.Stage{"bayes": st},
		Rules: []*engine.Rule{
			{Name: "bayes-unsure", When: unsure, Score: 3},
			{Name: "bayes-junk", When: junk, Action: engine.Action{Kind: engine.ActionJunk}},
		}}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	tx := p.Begin(engine.NewMessage(engine.Envelope{MailFrom: "a@b.example"}, raw), opts...)
	v := tx.Evaluate(context.Background(), engine.PhaseData)
	if v.Err != nil {
		t.Fatal(v.Err)
	}
	var fired []string
	for _, f := range v.Fired {
		fired = append(fired, f.Name)
	}
	return tx.Facts().Bayes, fired
}

func newStage(t *testing.T, dir, yaml string) *Stage {
	t.Helper()
	st, err := stages.New("bayes", stages.Settings{Raw: []byte(yaml), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return st.(*Stage)
}

// newLiveStage is newStage as the server's live rule set builds it
// (stages.Settings.Learn).
func newLiveStage(t *testing.T, dir, yaml string) *Stage {
	t.Helper()
	st, err := stages.New("bayes", stages.Settings{Raw: []byte(yaml), Dir: dir, Learn: true})
	if err != nil {
		t.Fatal(err)
	}
	return st.(*Stage)
}

func TestStageUntrainedDecidesNothing(t *testing.T) {
	dir := t.TempDir()
	st := newStage(t, dir, "model: untrained.model\nmin_learns: 5\n")
	f, fired := evaluate(t, st, synthMessage(true, 1))
	if f.Trained || f.Spam != 0.5 || f.Ham != 0.5 || len(fired) != 0 {
		t.Fatalf("empty model: facts %+v, fired %v", f, fired)
	}
	// Four of each is still under min_learns.
	if err := train(st.Model(), 0, 4); err != nil {
		t.Fatal(err)
	}
	f, fired = evaluate(t, st, synthMessage(true, 1000))
	if f.Trained || f.Spam != 0.5 || len(fired) != 0 {
		t.Fatalf("4+4 messages with min_learns 5: facts %+v, fired %v", f, fired)
	}
	// Five spam but four ham: still untrained.
	if _, err := st.Model().Learn(synthMessage(true, 50), Spam); err != nil {
		t.Fatal(err)
	}
	if f, _ = evaluate(t, st, synthMessage(true, 1000)); f.Trained {
		t.Fatal("trained with only 4 ham")
	}
}

func TestStageTrainedClassifies(t *testing.T) {
	st := newStage(t, t.TempDir(), "model: m.model\nmin_learns: 20\nmax_explain: 5\n")
	if err := train(st.Model(), 0, 30); err != nil {
		t.Fatal(err)
	}
	f, fired := evaluate(t, st, synthMessage(true, 1000))
	if !f.Trained || f.Spam < 0.99 || f.Ham != 1-f.Spam || len(f.Tokens) != 5 {
		t.Fatalf("spam: facts %+v", f)
	}
	if fmt.Sprint(fired) != "[bayes-junk]" {
		t.Errorf("spam fired %v, want bayes-junk", fired)
	}
	f, fired = evaluate(t, st, synthMessage(false, 1000))
	if !f.Trained || f.Spam > 0.01 || len(fired) != 0 {
		t.Fatalf("ham: facts %+v, fired %v", f, fired)
	}
	// Half of each: the unsure middle, neither junk nor clean.
	mixed := []byte("From: x@y.example\r\nSubject: Amazing offer\r\n\r\ncheap pills viagra lottery prize casino " +
		"kernel patch review build release compiler meeting agenda\r\n")
	f, fired = evaluate(t, st, mixed)
	if f.Spam <= 0.01 || f.Spam >= 0.99 {
		t.Errorf("mixed message scored %.3f, want the unsure middle; fired %v", f.Spam, fired)
	}
}

// min_tokens leaves a message the model knows too little of at 0.5, even
// when it would score it: a trained model, a short spam message.
func TestStageMinTokens(t *testing.T) {
	dir := t.TempDir()
	st := newStage(t, dir, "model: m.model\nmin_learns: 20\n")
	if err := train(st.Model(), 0, 30); err != nil {
		t.Fatal(err)
	}
	short := []byte("From: promo@deals.example\r\nSubject: Amazing offer\r\n\r\ncheap pills viagra lottery\r\n")
	f, fired := evaluate(t, st, short)
	if !f.Trained || f.Spam < 0.9 || f.Known == 0 || len(fired) == 0 {
		t.Fatalf("without min_tokens: facts %+v, fired %v", f, fired)
	}
	known := f.Known
	picky := newStage(t, dir, fmt.Sprintf("model: m.model\nmin_learns: 20\nmin_tokens: %d\n", known+1))
	f, fired = evaluate(t, picky, short)
	// 0.5 is neutral: the test's unsure rule (spam >= 0.5) still fires, junk does not.
	if !f.Trained || f.Spam != 0.5 || f.Ham != 0.5 || f.Known != known || len(f.Tokens) != 0 || fmt.Sprint(fired) != "[bayes-unsure]" {
		t.Fatalf("min_tokens %d with %d known: facts %+v, fired %v", known+1, known, f, fired)
	}
	enough := newStage(t, dir, fmt.Sprintf("model: m.model\nmin_learns: 20\nmin_tokens: %d\n", known))
	if f, _ = evaluate(t, enough, short); f.Spam < 0.9 {
		t.Fatalf("min_tokens %d with %d known: facts %+v", known, known, f)
	}
}

func TestStageSettings(t *testing.T) {
	for _, bad := range []string{"min_learns: 0", "model: \"\"", "modle: x", "min_tokens: -1"} {
		if _, err := stages.New("bayes", stages.Settings{Raw: []byte(bad), Dir: t.TempDir()}); err == nil {
			t.Errorf("settings %q accepted", bad)
		}
	}
	s := stages.Settings{Dir: "/rules", DataDir: "/var/sluice"}
	if p := ModelPath("bayes.model", s); p != "/var/sluice/bayes.model" {
		t.Errorf("with a data dir: %s", p)
	}
	if p := ModelPath("m/bayes.model", stages.Settings{Dir: "/rules"}); p != "/rules/m/bayes.model" {
		t.Errorf("without a data dir: %s", p)
	}
	if p := ModelPath("/abs/x", s); p != "/abs/x" {
		t.Errorf("absolute: %s", p)
	}
	dir := t.TempDir()
	st := newStage(t, dir, "")
	same, _ := OpenModel(filepath.Join(dir, DefaultModelFile))
	if st.Model() != same || st.minLearns != DefaultMinLearns {
		t.Error("default settings: wrong model file or min_learns")
	}
}

// TestStageConcurrentClassifyAndTrain is meant for -race: sessions classify
// while the trainer learns, unlearns and saves, and another process's save
// is reloaded underneath.
func TestStageConcurrentClassifyAndTrain(t *testing.T) {
	dir := t.TempDir()
	st := newStage(t, dir, "model: race.model\nmin_learns: 5\n")
	st.Model().Store().(*FileStore).checkEvery = 0
	if err := train(st.Model(), 0, 10); err != nil {
		t.Fatal(err)
	}
	other, _ := OpenFileStore(filepath.Join(dir, "race.model"))
	churn(t, st, other, 30, 30, 10, func(f engine.BayesFacts) bool { return f.Trained })
	if err := st.Model().Save(); err != nil {
		t.Fatal(err)
	}
	final, _ := OpenFileStore(filepath.Join(dir, "race.model"))
	fs, _ := final.Stats()
	// 10+10 trained, 30 more alternating, minus the spam unlearnt (i = 0, 5
	// that were learnt in train), plus the other process's 10 ham.
	if fs.Spam+fs.Ham != 20+30-2+10 {
		t.Errorf("final counts %+v: the two writers lost or doubled a message", fs)
	}
}

// churn is the load of the concurrency tests: four sessions classify
// perSession messages each through st (ok judges the facts beyond a
// score in [0, 1]), while the trainer learns learns messages, unlearning
// a spam and saving every fifth, and another process learns and saves
// saves ham into other. Every error fails t.
func churn(t *testing.T, st *Stage, other *FileStore, perSession, learns, saves int, ok func(engine.BayesFacts) bool) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4+2*learns+2*saves)
	for g := range 4 {
		wg.Go(func() {
			for i := range perSession {
				f, _ := evaluate(t, st, synthMessage(i%2 == 0, 2000+g*100+i))
				if !ok(f) || f.Spam < 0 || f.Spam > 1 {
					errs <- fmt.Errorf("session %d: facts %+v", g, f)
					return
				}
			}
		})
	}
	wg.Go(func() {
		m := st.Model()
		for i := range learns {
			if _, err := m.Learn(synthMessage(i%2 == 0, 100+i), Class(1+i%2)); err != nil {
				errs <- err
			}
			if i%5 == 0 {
				if _, err := m.Unlearn(synthMessage(true, i)); err != nil {
					errs <- err
				}
				if err := m.Save(); err != nil {
					errs <- err
				}
			}
		}
	})
	wg.Go(func() {
		om := NewModel(other)
		for i := range saves {
			if _, err := om.Learn(synthMessage(false, 300+i), Ham); err != nil {
				errs <- err
			}
			if err := om.Save(); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestStrongestMatchesSort(t *testing.T) {
	var all []scored
	for i := range 5000 {
		p := float64((i*7919)%1000) / 1000
		all = append(all, scored{strength: math.Abs(p - 0.5), order: i, Clue: Clue{Token: fmt.Sprint(i), Prob: p}})
	}
	for _, n := range []int{1, 150, 300, 4999} {
		want := slices.Clone(all)
		slices.SortFunc(want, byStrength)
		got := strongest(slices.Clone(all), n)
		slices.SortFunc(got, byStrength)
		if !slices.Equal(got, want[:n]) {
			t.Errorf("strongest %d differs from a full sort", n)
		}
	}
}

// A model trained with an older tokenizer still opens and classifies, with
// a warning saying to retrain.
func TestOldTokenizerModelWarns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.model")
	fs, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	fs.st.tokVer = TokenizerVersion - 1
	if err := train(NewModel(fs), 0, 5); err != nil {
		t.Fatal(err)
	}
	if err := fs.Save(); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)
	m, err := OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "retrain") || !strings.Contains(logs.String(), fmt.Sprintf("model_tokenizer=%d", TokenizerVersion-1)) {
		t.Errorf("no warning about the old tokenizer: %q", logs.String())
	}
	if res, err := m.Classify(engine.NewMessage(engine.Envelope{}, synthMessage(true, 99))); err != nil || res.Spam < 0.9 {
		t.Errorf("old model classifies spam as %.3f, %v", res.Spam, err)
	}
}
