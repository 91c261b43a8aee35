package bayes

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/sluicemail/sluice/engine"
)

// A model over RedisBatch answers every learn and unlearn as one over the
// RedisStore does, and leaves the same counts, digests and totals on
// Redis and the same weights: duplicates, moves and unlearns inside one
// batch and across batches included. A read in the middle of a batch sees
// every learn before it.
func TestRedisBatchLearnsAsOneByOne(t *testing.T) {
	mrA, mrB := miniredis.RunT(t), miniredis.RunT(t)
	one := NewModel(redisNode(t, mrA.Addr(), time.Second))
	batch := redisNode(t, mrB.Addr(), time.Second).Batched(7)
	many := NewModel(batch)

	type op struct {
		raw     []byte
		class   Class // 0: unlearn
		learnt  bool  // what the call must answer
		comment string
	}
	var ops []op
	for i := range 12 {
		ops = append(ops, op{synthMessage(true, i), Spam, true, "spam"}, op{synthMessage(false, i), Ham, true, "ham"})
	}
	ops = append(ops,
		op{synthMessage(true, 3), Spam, false, "duplicate of a flushed learn"},
		op{synthMessage(false, 11), Ham, false, "duplicate within the batch"},
		op{synthMessage(true, 40), Spam, true, "new"},
		op{synthMessage(true, 40), Ham, true, "moved within the batch"},
		op{synthMessage(true, 40), 0, true, "unlearnt within the batch"},
		op{synthMessage(true, 40), 0, false, "unlearnt twice"},
		op{synthMessage(true, 41), 0, false, "never learnt"},
		op{synthMessage(false, 2), 0, true, "unlearn of a flushed learn"},
		op{synthMessage(false, 2), Spam, true, "learnt again as the other class"},
		op{synthMessage(true, 5), Ham, true, "a flushed learn moved"},
	)
	for i, o := range ops {
		for name, m := range map[string]*Model{"one by one": one, "batched": many} {
			var got bool
			var err error
			if o.class == 0 {
				got, err = m.Unlearn(o.raw)
			} else {
				got, err = m.Learn(o.raw, o.class)
			}
			if err != nil || got != o.learnt {
				t.Fatalf("op %d (%s) %s: %v, %v; want %v", i, o.comment, name, got, err, o.learnt)
			}
		}
		if i == 17 { // mid-batch: a classification sees what came before
			assertSameScores(t, one, many)
		}
	}
	if err := many.Save(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"counts", "totals", "learnt"} {
		k := "sluice:bayes:{bayes.model}:" + key
		a, b := hashOf(t, mrA, k), hashOf(t, mrB, k)
		if len(a) == 0 || len(a) != len(b) {
			t.Fatalf("%s: %d fields one by one, %d batched", key, len(a), len(b))
		}
		for f, v := range a {
			if b[f] != v {
				t.Errorf("%s[%s]: %q one by one, %q batched", key, f, v, b[f])
			}
		}
	}
	sa, _ := one.Stats()
	sb, _ := many.Stats()
	if sa != sb {
		t.Fatalf("stats differ: one by one %+v, batched %+v", sa, sb)
	}
	assertSameScores(t, one, many)
}

func hashOf(t *testing.T, mr *miniredis.Miniredis, key string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fields, _ := mr.HKeys(key)
	for _, f := range fields {
		out[f] = mr.HGet(key, f)
	}
	return out
}

func assertSameScores(t *testing.T, a, b *Model) {
	t.Helper()
	for i, raw := range [][]byte{synthMessage(true, 100), synthMessage(false, 101)} {
		msg := engine.NewMessage(engine.Envelope{}, raw)
		ra, err := a.Classify(msg)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.Classify(msg)
		if err != nil {
			t.Fatal(err)
		}
		if ra.Spam != rb.Spam || ra.Fisher != rb.Fisher || ra.Known != rb.Known || ra.NSpam != rb.NSpam || ra.NHam != rb.NHam {
			t.Errorf("message %d: one by one %+v, batched %+v", i, ra, rb)
		}
	}
}

// Redis down: a batch that cannot be sent is an error of the learn that
// filled it (or of Save), not lost in silence.
func TestRedisBatchDown(t *testing.T) {
	mr := miniredis.RunT(t)
	m := NewModel(redisNode(t, mr.Addr(), 200*time.Millisecond).Batched(3))
	for i := range 2 {
		if _, err := m.Learn(synthMessage(true, i), Spam); err != nil {
			t.Fatal(err)
		}
	}
	mr.Close()
	if _, err := m.Learn(synthMessage(true, 2), Spam); err == nil {
		t.Fatal("the learn that filled the batch succeeded with Redis down")
	}
	if err := m.Save(); err == nil {
		t.Fatal("Save succeeded with the batch not on Redis")
	}
}
