package bayes

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

// learnTokens applies one message of the given tokens to s, as a Model
// would, under a digest of its own.
func learnTokens(t *testing.T, s Store, id string, class Class, toks ...string) {
	t.Helper()
	if ok, err := s.Apply(Change{Digest: DigestOf([]byte(id)), Class: class, Tokens: toks}); err != nil || !ok {
		t.Fatalf("learn %s: %v, %v", id, ok, err)
	}
}

func unlearnTokens(t *testing.T, s Store, id string, toks ...string) {
	t.Helper()
	if ok, err := s.Apply(Change{Digest: DigestOf([]byte(id)), Unlearn: true, Tokens: toks}); err != nil || !ok {
		t.Fatalf("unlearn %s: %v, %v", id, ok, err)
	}
}

// classifierCounts are the counts the classifier holds (what is saved),
// token to spam and ham, failing on a negative one.
func classifierCounts(t *testing.T, st *state) map[string][2]int {
	t.Helper()
	out := map[string][2]int{}
	totals := st.c.WordCount()
	for i, class := range st.c.Classes {
		if totals[i] < 0 {
			t.Fatalf("class %s's word total is %d", class, totals[i])
		}
		slot := hamSlot
		if class == bayesSpam {
			slot = spamSlot
		}
		for tok, f := range st.c.WordsByClass(class) {
			if totals[i] == 0 {
				if f != 0 && !math.IsNaN(f) { // 0/0 for a word at 0 in an empty class
					t.Fatalf("token %q has frequency %v in an empty class", tok, f)
				}
				continue
			}
			n := int(math.Round(f * float64(totals[i])))
			if n < 0 {
				t.Fatalf("token %q's %s count is %d", tok, class, n)
			}
			if n > 0 {
				e := out[tok]
				e[slot] = n
				out[tok] = e
			}
		}
	}
	return out
}

// checkConsistent fails unless the index (what Classify reads) holds
// exactly the classifier's counts (what Save writes).
func checkConsistent(t *testing.T, st *state) map[string][2]int {
	t.Helper()
	cc := classifierCounts(t, st)
	for tok, e := range cc {
		got := st.index.get(key(tok))
		if int(got[spamSlot]) != e[spamSlot] || int(got[hamSlot]) != e[hamSlot] {
			t.Errorf("token %q: index %v, classifier %v", tok, got, e)
		}
	}
	if st.index.n != len(cc) {
		t.Errorf("index holds %d tokens, the classifier %d", st.index.n, len(cc))
	}
	return cc
}

// captureLog sends slog's default logger to a buffer for the test.
func captureLog(t *testing.T) *bytes.Buffer {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &logs
}

// The 11th message crosses a bound of 10: every count and both totals
// halve, a token left at 0 in both classes is gone from the index and the
// classifier alike, and one line says so.
func TestAgingHalvesCountsAndDropsZeros(t *testing.T) {
	logs := captureLog(t)
	s := NewMemoryStore()
	m := NewModel(s)
	if err := m.SetAging(10); err != nil {
		t.Fatal(err)
	}
	learnTokens(t, s, "spam0", Spam, "common", "spammy", "rare")
	for i := 1; i < 6; i++ {
		learnTokens(t, s, fmt.Sprint("spam", i), Spam, "common", "spammy")
	}
	for i := range 4 {
		learnTokens(t, s, fmt.Sprint("ham", i), Ham, "common", "hammy")
	}
	spam, ham, nspam, nham := counts(t, s, "common", "spammy", "rare", "hammy")
	if nspam != 6 || nham != 4 || fmt.Sprint(spam, ham) != "[6 6 1 0] [4 0 0 4]" {
		t.Fatalf("at the bound, before aging: %d/%d messages, counts %v %v", nspam, nham, spam, ham)
	}
	if strings.Contains(logs.String(), "aged") {
		t.Fatalf("aged at the bound, not over it: %s", logs)
	}
	learnTokens(t, s, "ham4", Ham, "common", "hammy")
	spam, ham, nspam, nham = counts(t, s, "common", "spammy", "rare", "hammy")
	if nspam != 3 || nham != 2 || fmt.Sprint(spam, ham) != "[3 3 0 0] [2 0 0 2]" {
		t.Fatalf("after aging: %d/%d messages, counts %v %v; want 3/2, [3 3 0 0] [2 0 0 2]", nspam, nham, spam, ham)
	}
	cc := checkConsistent(t, s.st)
	if _, ok := cc["rare"]; ok || len(cc) != 3 {
		t.Errorf("classifier after aging: %v; want rare dropped, 3 tokens", cc)
	}
	if st, _ := s.Stats(); st.Spam != 3 || st.Ham != 2 || st.SpamTokens != 2 || st.HamTokens != 2 {
		t.Errorf("stats after aging %+v", st)
	}
	line := logs.String()
	for _, want := range []string{"bayes counts aged", "halvings=1", "tokens_before=4", "tokens_after=3",
		"spam_before=6", "ham_before=5", "spam=3", "ham=2", "max_learns=10"} {
		if !strings.Contains(line, want) {
			t.Errorf("aging log %q lacks %s", line, want)
		}
	}
	if n := strings.Count(line, "bayes counts aged"); n != 1 {
		t.Errorf("%d aging lines, want 1: %s", n, line)
	}
}

// A model trained far past the bound before aging was set halves as many
// times as it takes, at once.
func TestAgingSetOnATrainedModel(t *testing.T) {
	s := NewMemoryStore()
	m := NewModel(s)
	if err := train(m, 0, 20); err != nil {
		t.Fatal(err)
	}
	_, _, nspam, nham := counts(t, s)
	if nspam != 20 || nham != 20 {
		t.Fatalf("trained without aging: %d/%d", nspam, nham)
	}
	if err := m.SetAging(10); err != nil {
		t.Fatal(err)
	}
	if _, _, nspam, nham = counts(t, s); nspam != 5 || nham != 5 {
		t.Fatalf("40 messages aged to a bound of 10: %d/%d, want two halvings to 5/5", nspam, nham)
	}
	checkConsistent(t, s.st)
	if err := m.SetAging(-1); err == nil {
		t.Error("a negative bound accepted")
	}
}

// Aging keeps the model's opinions: the counts alone (Fisher, no
// regression to make up for them) still tell held-out spam from ham
// after several agings, and a token's spam share stays on its side.
func TestAgingKeepsOpinions(t *testing.T) {
	aged := NewModelWith(NewMemoryStore(), DefaultOptions, DefaultParams)
	whole := NewModelWith(NewMemoryStore(), DefaultOptions, DefaultParams)
	if err := aged.SetAging(60); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Model{aged, whole} {
		if err := train(m, 0, 150); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := aged.Stats()
	if st.Spam+st.Ham > 60 || st.Spam+st.Ham < 30 {
		t.Fatalf("aged model holds %d+%d messages, want between half the bound and the bound", st.Spam, st.Ham)
	}
	full, _ := whole.Stats()
	if st.SpamTokens+st.HamTokens >= full.SpamTokens+full.HamTokens {
		t.Errorf("aging dropped no token: %+v against %+v", st, full)
	}
	for i := 1000; i < 1020; i++ {
		for _, spam := range []bool{true, false} {
			msg := engine.NewMessage(engine.Envelope{}, synthMessage(spam, i))
			a, err := aged.Classify(msg)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := whole.Classify(msg)
			if (a.Spam > 0.9) != spam || (a.Spam < 0.1) == spam {
				t.Errorf("held-out message %d (spam %v): aged %.3f, unaged %.3f", i, spam, a.Spam, w.Spam)
			}
		}
	}
	toks := []string{"subject:amazing", "subject:project"}
	sa, ha, ns, nh := counts(t, aged.Store(), toks...)
	for i, tok := range toks {
		p := DefaultParams.tokenProb(sa[i], ha[i], ns, nh)
		if spammy := i == 0; (p > 0.9) != spammy || (p < 0.1) == spammy {
			t.Errorf("token %s after aging: %v/%v of %d/%d, probability %.3f", tok, sa[i], ha[i], ns, nh, p)
		}
	}
}

// A message learnt before an aging may hold tokens halved to 0 since:
// unlearning it stops every count, and the totals, at 0, in the index and
// the classifier alike, and relearning it counts it again.
func TestAgingUnlearnClamps(t *testing.T) {
	s := NewMemoryStore()
	if err := NewModel(s).SetAging(4); err != nil {
		t.Fatal(err)
	}
	learnTokens(t, s, "a", Spam, "only-a", "shared")
	learnTokens(t, s, "b", Spam, "shared")
	learnTokens(t, s, "c", Ham, "h")
	learnTokens(t, s, "d", Ham, "h")
	learnTokens(t, s, "e", Ham, "h") // 5 > 4: halved
	spam, ham, nspam, nham := counts(t, s, "only-a", "shared", "h")
	if nspam != 1 || nham != 1 || fmt.Sprint(spam, ham) != "[0 1 0] [0 0 1]" {
		t.Fatalf("after aging: %d/%d, %v %v", nspam, nham, spam, ham)
	}
	unlearnTokens(t, s, "a", "only-a", "shared")
	unlearnTokens(t, s, "b", "shared")
	spam, ham, nspam, nham = counts(t, s, "only-a", "shared", "h")
	if nspam != 0 || nham != 1 || fmt.Sprint(spam, ham) != "[0 0 0] [0 0 1]" {
		t.Fatalf("after unlearning two spam learnt before the aging: %d/%d, %v %v; want 0/1, [0 0 0] [0 0 1]", nspam, nham, spam, ham)
	}
	if cc := checkConsistent(t, s.st); len(cc) != 1 {
		t.Errorf("classifier after the unlearns: %v, want h alone", cc)
	}
	// Moving a ham learnt before the aging to spam: the ham side stops
	// at 0 and the spam side counts it.
	learnTokens(t, s, "c", Spam, "h")
	learnTokens(t, s, "d", Spam, "h")
	spam, ham, nspam, nham = counts(t, s, "h")
	if nspam != 2 || nham != 0 || spam[0] != 2 || ham[0] != 0 {
		t.Fatalf("after moving two old ham to spam: %d/%d, %v %v", nspam, nham, spam, ham)
	}
	learnTokens(t, s, "a", Spam, "only-a", "shared")
	spam, _, nspam, _ = counts(t, s, "only-a", "shared")
	if nspam != 3 || fmt.Sprint(spam) != "[1 1]" {
		t.Fatalf("relearnt after unlearning: %d spam, %v", nspam, spam)
	}
	checkConsistent(t, s.st)
}

// An aged model is its halved counts: saved and reopened (with no aging
// set) it holds and scores the same, and a crash while saving it leaves
// the model saved before.
func TestAgingSurvivesSaveAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.model")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(s)
	if err := train(m, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	if err := m.SetAging(30); err != nil {
		t.Fatal(err)
	}
	if err := train(m, 10, 6); err != nil { // 32 > 30: aged to 16
		t.Fatal(err)
	}
	before, _ := s.Stats()
	if before.Spam != 8 || before.Ham != 8 {
		t.Fatalf("aged in memory: %+v", before)
	}
	crash := errors.New("power cut")
	afterTempWrite = func(string) error { return crash }
	err = m.Save()
	afterTempWrite = nil
	if !errors.Is(err, crash) {
		t.Fatalf("save with a crash: %v", err)
	}
	old, err := OpenFileStore(path)
	if err != nil {
		t.Fatalf("after a crash saving the aged model: %v", err)
	}
	if st, _ := old.Stats(); st.Spam != 10 || st.Ham != 10 {
		t.Fatalf("after a crash saving the aged model the file holds %+v, want the 10+10 saved before", st)
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s2.Stats()
	if after != before {
		t.Fatalf("reopened: %+v, saved: %+v", after, before)
	}
	if a, b := checkConsistent(t, s2.st), checkConsistent(t, s.st); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("the reopened counts differ from the aged ones saved")
	}
	probe := engine.NewMessage(engine.Envelope{}, synthMessage(true, 999))
	r1, _ := m.Classify(probe)
	r2, _ := NewModel(s2).Classify(probe)
	if r1.Spam != r2.Spam || r1.NSpam != 8 {
		t.Errorf("reopened scores %.4f (%d spam), in memory %.4f (%d)", r2.Spam, r2.NSpam, r1.Spam, r1.NSpam)
	}
	// Digests survive the aging: a message learnt before it is not
	// counted again.
	if learnt, _ := NewModel(s2).Learn(synthMessage(true, 3), Spam); learnt {
		t.Error("a message learnt before the aging was learnt again")
	}
}

// A server with aging picks up a file another process saved over the
// bound (`sluice train` does not age) and ages it, with its own unsaved
// learn merged first.
func TestAgingAfterReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bayes.model")
	server, _ := OpenFileStore(path)
	trainer, _ := OpenFileStore(path)
	server.checkEvery = 0
	serverModel := NewModel(server)
	if err := serverModel.SetAging(30); err != nil {
		t.Fatal(err)
	}
	if _, err := serverModel.Learn(synthMessage(true, 500), Spam); err != nil {
		t.Fatal(err)
	}
	tm := NewModel(trainer)
	if err := train(tm, 0, 20); err != nil {
		t.Fatal(err)
	}
	if err := tm.Save(); err != nil {
		t.Fatal(err)
	}
	if st, _ := server.Stats(); st.Spam != 10 || st.Ham != 10 {
		t.Fatalf("server after reloading 20+20 with its 1 spam and a bound of 30: %+v, want 10/10", st)
	}
	checkConsistent(t, server.st)
}

func TestAgingSettings(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{
		"min_learns: 5\naging: {max_learns: 19}",  // under 4 × min_learns
		"aging: {max_learns: 799}",                // the default min_learns is 200
		"min_learns: 5\naging: {max_learns: -20}", // negative
		"min_learns: 5\naging: {max_lerns: 20}",   // misspelt
	} {
		_, err := stages.New("bayes", stages.Settings{Raw: []byte("model: s.model\n" + bad), Dir: dir})
		if err == nil {
			t.Errorf("settings %q accepted", bad)
		} else if !strings.Contains(err.Error(), "bayes settings") {
			t.Errorf("settings %q: error %q does not name the stage", bad, err)
		}
	}
	// A dry run's set (sluice check, a shadow set) reads the model and
	// sets no bound.
	st := newStage(t, dir, "model: s.model\nmin_learns: 5\naging: {max_learns: 20}\n")
	fs := st.Model().Store().(*FileStore)
	if fs.maxLearns != 0 {
		t.Fatalf("a dry run's aging.max_learns 20 set the store's bound to %d", fs.maxLearns)
	}
	newLiveStage(t, dir, "model: s.model\nmin_learns: 5\naging: {max_learns: 20}\n")
	if fs.maxLearns != 20 {
		t.Fatalf("aging.max_learns 20 set the store's bound to %d", fs.maxLearns)
	}
	// Nor does it switch the live set's aging off.
	newStage(t, dir, "model: s.model\nmin_learns: 5\n")
	if fs.maxLearns != 20 {
		t.Fatalf("a dry run's set without aging changed the bound to %d", fs.maxLearns)
	}
	// A reload of the live rules without aging turns it off on the shared model.
	newLiveStage(t, dir, "model: s.model\nmin_learns: 5\n")
	if fs.maxLearns != 0 {
		t.Fatalf("rules without aging left the bound at %d", fs.maxLearns)
	}
}

// Counts on Redis cannot age: the stage refuses the setting at load and
// says why, and loads without it.
func TestAgingRefusedOnRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true})
	defer c.Close()
	dir := t.TempDir()
	if err := ShareCounts(dir, c, time.Second); err != nil {
		t.Fatal(err)
	}
	defer StopSharing(dir)
	_, err := stages.New("bayes", stages.Settings{Raw: []byte("min_learns: 5\naging: {max_learns: 100}\n"), Dir: dir, DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "Redis") || !strings.Contains(err.Error(), "aging") {
		t.Fatalf("aging on Redis: %v", err)
	}
	st, err := stages.New("bayes", stages.Settings{Raw: []byte("min_learns: 5\n"), Dir: dir, DataDir: dir})
	if err != nil {
		t.Fatalf("no aging on Redis: %v", err)
	}
	if _, ok := st.(*Stage).Model().Store().(*RedisStore); !ok {
		t.Fatalf("model on %T", st.(*Stage).Model().Store())
	}
}

// Meant for -race: sessions classify while the trainer learns past the
// bound again and again (each learn over it ages the counts under the
// store's lock), unlearns, saves, and another process's save is reloaded
// and aged underneath.
func TestAgingConcurrentClassifyAndTrain(t *testing.T) {
	logs := captureLog(t)
	dir := t.TempDir()
	st := newLiveStage(t, dir, "model: race.model\nmin_learns: 5\naging: {max_learns: 20}\n")
	fs := st.Model().Store().(*FileStore)
	fs.checkEvery = 0
	if err := train(st.Model(), 0, 10); err != nil {
		t.Fatal(err)
	}
	other, _ := OpenFileStore(filepath.Join(dir, "race.model"))
	churn(t, st, other, 40, 60, 20, func(f engine.BayesFacts) bool { return f.Result == "ok" })
	if !strings.Contains(logs.String(), "bayes counts aged") {
		t.Error("never aged")
	}
	if err := st.Model().Save(); err != nil {
		t.Fatal(err)
	}
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	if n := fs.st.nspam + fs.st.nham; n > 20 {
		t.Errorf("%d messages after the last learn and reload, over the bound of 20", n)
	}
	checkConsistent(t, fs.st)
}
