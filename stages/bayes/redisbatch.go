package bayes

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batchTimeout bounds one batch's script: a batch of big messages is far
// more work for Redis than one message, and `sluice train` is not an SMTP
// session waiting on it.
const batchTimeout = 30 * time.Second

// RedisBatch is a RedisStore for bulk training (`sluice train`): it sends
// the counts of up to size messages to Redis in one script run, where each
// token shared by several of them is read and written once
// (bench/bayesredis: BenchmarkLearnRedis). It answers Apply at once, as
// the store does, so that a Model over it learns exactly as over the
// RedisStore: whether a message changes anything is decided from the
// shared digests (one HGET, or the batch itself for a message it already
// holds), and this node's weights step right away, before the next
// message's step is computed. The counts reach Redis at the end of each
// batch and before any read (Counts, Stats) or Save.
//
// The script checks the digests again when the batch runs; if another
// node learnt one of the messages in between, the counts stay right (it
// is counted once) and only this node's weights took a step they would
// not have. Concurrent bulk training of the same messages on two nodes is
// the only way to get there.
type RedisBatch struct {
	s    *RedisStore
	size int

	mu      sync.Mutex
	pending []Change
	classes map[Digest]string // class of each message in pending as it stands after it: "s", "h", "" unlearnt
}

// Batched returns a batching view of s sending size messages per script
// run (at least 1).
func (s *RedisStore) Batched(size int) *RedisBatch {
	return &RedisBatch{s: s, size: max(size, 1), classes: map[Digest]string{}}
}

// Apply implements Store.
func (b *RedisBatch) Apply(c Change) (bool, error) {
	class, err := scriptClass(c)
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	prev, ok := b.classes[c.Digest]
	if !ok {
		if prev, err = b.learntAs(c.Digest); err != nil {
			return false, err
		}
	}
	switch {
	case class == "u" && prev == "", class == prev:
		return false, nil
	case class == "u":
		b.classes[c.Digest] = ""
	default:
		b.classes[c.Digest] = class
	}
	b.pending = append(b.pending, c)
	if err := b.s.stepWeights(c); err != nil {
		return true, err
	}
	if len(b.pending) >= b.size {
		return true, b.flushLocked()
	}
	return true, nil
}

// learntAs is the class a message is learnt as on Redis ("" if it is not).
func (b *RedisBatch) learntAs(d Digest) (string, error) {
	ctx, cancel := b.s.ctx()
	defer cancel()
	v, err := b.s.c.HGet(ctx, b.s.learnt, hex.EncodeToString(d[:])).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("bayes: redis: %w", err)
	}
	return v, nil
}

// Flush sends the pending counts to Redis.
func (b *RedisBatch) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *RedisBatch) flushLocked() error {
	if len(b.pending) == 0 {
		return nil
	}
	_, err := b.s.learn(b.pending, max(b.s.timeout, batchTimeout))
	if err != nil {
		return err
	}
	b.pending = b.pending[:0]
	clear(b.classes)
	return nil
}

// Counts implements Store, after the pending counts are on Redis.
func (b *RedisBatch) Counts(tokens []string, spam, ham []float64) (int, int, error) {
	if err := b.Flush(); err != nil {
		return 0, 0, err
	}
	return b.s.Counts(tokens, spam, ham)
}

// Margin implements Store from this node's weights.
func (b *RedisBatch) Margin(features []uint32) (float64, error) { return b.s.Margin(features) }

// Stats implements Store, after the pending counts are on Redis.
func (b *RedisBatch) Stats() (Stats, error) {
	if err := b.Flush(); err != nil {
		return Stats{}, err
	}
	return b.s.Stats()
}

// Save implements Store: the pending counts go to Redis, the weights to
// the node's file.
func (b *RedisBatch) Save() error {
	if err := b.Flush(); err != nil {
		return err
	}
	return b.s.Save()
}
