package bayes

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sluicemail/sluice/engine"
)

// redisNode is one node's store on a shared Redis: counts there, weights
// in its own file.
func redisNode(t *testing.T, addr string, timeout time.Duration) *RedisStore {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout})
	t.Cleanup(func() { c.Close() })
	local, err := OpenFileStore(filepath.Join(t.TempDir(), "bayes.model"))
	if err != nil {
		t.Fatal(err)
	}
	return NewRedisStore(c, "bayes.model", timeout, local)
}

// The counts a node learns are the counts every node reads, and the
// digests are shared too: a message learnt on A is not counted again on
// B, moves when B learns it as the other class, and B can unlearn it.
func TestRedisStoreSharedAcrossNodes(t *testing.T) {
	mr := miniredis.RunT(t)
	a := NewModel(redisNode(t, mr.Addr(), time.Second))
	b := NewModel(redisNode(t, mr.Addr(), time.Second))
	raw := synthMessage(true, 3)
	if learnt, err := a.Learn(raw, Spam); err != nil || !learnt {
		t.Fatalf("learn on A: %v, %v", learnt, err)
	}
	if learnt, err := b.Learn(raw, Spam); err != nil || learnt {
		t.Fatalf("the same message learnt again on B: %v, %v", learnt, err)
	}
	spam, ham, nspam, nham := counts(t, b.Store(), "subject:amazing", "never-seen")
	if nspam != 1 || nham != 0 || spam[0] != 1 || ham[0] != 0 || spam[1]+ham[1] != 0 {
		t.Fatalf("B reads nspam %d nham %d, counts %v/%v", nspam, nham, spam, ham)
	}
	if learnt, err := b.Learn(raw, Ham); err != nil || !learnt {
		t.Fatalf("move on B: %v, %v", learnt, err)
	}
	spam, ham, nspam, nham = counts(t, a.Store(), "subject:amazing")
	if nspam != 0 || nham != 1 || spam[0] != 0 || ham[0] != 1 {
		t.Fatalf("after B moved it, A reads nspam %d nham %d, counts %v/%v", nspam, nham, spam, ham)
	}
	if un, err := a.Unlearn(raw); err != nil || !un {
		t.Fatalf("unlearn on A: %v, %v", un, err)
	}
	if un, err := b.Unlearn(raw); err != nil || un {
		t.Fatalf("unlearnt twice: %v, %v", un, err)
	}
	st, err := b.Stats()
	if err != nil || st.Spam+st.Ham+st.SpamTokens+st.HamTokens != 0 || st.Tokenizer != TokenizerVersion {
		t.Fatalf("after unlearning everything: %+v, %v", st, err)
	}
	if mr.Exists("sluice:bayes:{bayes.model}:counts") {
		f, _ := mr.HKeys("sluice:bayes:{bayes.model}:counts")
		t.Errorf("fields left in the counts hash: %q; tokens at zero must be deleted", f)
	}
}

// A model on Redis scores exactly as the embedded one trained the same
// way: the store changes where the counts live, not what they are.
func TestRedisStoreScoresAsEmbedded(t *testing.T) {
	mr := miniredis.RunT(t)
	shared := NewModel(redisNode(t, mr.Addr(), time.Second))
	embedded := NewModel(NewMemoryStore())
	for _, m := range []*Model{shared, embedded} {
		if err := train(m, 0, 40); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Unlearn(synthMessage(true, 5)); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Learn(synthMessage(false, 6), Spam); err != nil { // a move
			t.Fatal(err)
		}
	}
	sa, _ := shared.Stats()
	ea, _ := embedded.Stats()
	if sa != ea {
		t.Fatalf("stats differ: redis %+v, embedded %+v", sa, ea)
	}
	for i, raw := range [][]byte{synthMessage(true, 100), synthMessage(false, 101), htmlSpam(t)} {
		msg := engine.NewMessage(engine.Envelope{}, raw)
		rs, err := shared.Classify(msg)
		if err != nil {
			t.Fatal(err)
		}
		re, _ := embedded.Classify(msg)
		if rs.Spam != re.Spam || rs.Fisher != re.Fisher || rs.Known != re.Known || rs.NSpam != re.NSpam {
			t.Errorf("message %d: redis %.6f/%.6f known %d, embedded %.6f/%.6f known %d",
				i, rs.Spam, rs.Fisher, rs.Known, re.Spam, re.Fisher, re.Known)
		}
	}
}

// Redis down: the stage fails within the store's timeout (the engine
// records it and the facts stay neutral), and it works again once Redis is
// back, with nothing to restart.
func TestRedisStoreDownFailsFastAndRecovers(t *testing.T) {
	mr := miniredis.RunT(t)
	m := NewModel(redisNode(t, mr.Addr(), 200*time.Millisecond))
	if err := train(m, 0, 5); err != nil {
		t.Fatal(err)
	}
	st := NewStage(m, 1)
	in := func() *engine.Input {
		return &engine.Input{Msg: engine.NewMessage(engine.Envelope{}, synthMessage(true, 50)), Facts: &engine.Facts{}}
	}
	mr.Close()
	start := time.Now()
	down := in()
	err := st.Run(t.Context(), down)
	if err == nil {
		t.Fatal("classified with Redis down")
	}
	st.Fail(down.Facts, err) // as the engine does
	if f := down.Facts.Bayes; f.Result != "temperror" || f.Spam != 0.5 {
		t.Errorf("facts with Redis down: %+v", f)
	}
	if _, err := m.Learn(synthMessage(true, 51), Spam); err == nil {
		t.Fatal("learnt with Redis down")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("two operations took %v with a 200ms timeout", d)
	}
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	x := in()
	if err := st.Run(t.Context(), x); err != nil {
		t.Fatalf("after Redis came back: %v", err)
	}
	if f := x.Facts.Bayes; !f.Trained || f.Spam <= 0.5 || f.Result != "ok" {
		t.Errorf("after Redis came back: %+v", x.Facts.Bayes)
	}
}

// OpenModel puts the counts of a model under a sharing directory on Redis,
// named by its path below the directory, and leaves others in their file.
func TestShareCountsOpensRedisStore(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true})
	defer c.Close()
	dir, other := t.TempDir(), t.TempDir()
	if err := ShareCounts(dir, c, time.Second); err != nil {
		t.Fatal(err)
	}
	defer StopSharing(dir)
	m, err := OpenModel(filepath.Join(dir, "models", "bayes.model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Store().(*RedisStore); !ok {
		t.Fatalf("model under the shared directory uses %T", m.Store())
	}
	if _, err := m.Learn(synthMessage(true, 1), Spam); err != nil {
		t.Fatal(err)
	}
	if !mr.Exists("sluice:bayes:{models/bayes.model}:counts") {
		t.Errorf("no counts under the model's name; keys: %v", mr.Keys())
	}
	o, err := OpenModel(filepath.Join(other, "bayes.model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := o.Store().(*FileStore); !ok {
		t.Fatalf("model outside it uses %T", o.Store())
	}
	StopSharing(dir)
	again, err := OpenModel(filepath.Join(dir, "models", "bayes.model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Store().(*FileStore); !ok {
		t.Fatalf("after StopSharing the model uses %T", again.Store())
	}
}
