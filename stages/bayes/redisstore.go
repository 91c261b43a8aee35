package bayes

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore is the Store of several nodes sharing one Redis: the token
// counts and the digests of learnt messages live there, so that a message
// a user moves to Junk on one node changes the next verdict on every node.
// The logistic regression's weights stay in the node's own model file (a
// FileStore holding weights only): they are a per-node refinement learnt
// from each node's own corrections, and sharing them would cost a round
// trip per feature.
//
// Keys (the braces keep both in one Redis Cluster slot, which the learn
// script needs):
//
//	sluice:bayes:{NAME}:counts   hash: "s:"+token, "h:"+token -> spam/ham
//	                             messages that held the token; "#s", "#h"
//	                             -> messages learnt; "#ts", "#th" ->
//	                             distinct tokens; "#v" -> tokenizer version
//	sluice:bayes:{NAME}:learnt   hash: hex digest -> "s" or "h"
//
// Classifying is one HMGET (one round trip); learning or unlearning is one
// Lua script (one round trip, atomic across nodes).
type RedisStore struct {
	c       redis.UniversalClient
	counts  string
	learnt  string
	timeout time.Duration
	local   *FileStore
}

// NewRedisStore returns a store keeping counts under name (the model
// file's name, so that two models on one Redis stay apart) and weights in
// local. Every operation gives up after timeout (default 1s).
func NewRedisStore(c redis.UniversalClient, name string, timeout time.Duration, local *FileStore) *RedisStore {
	if timeout <= 0 {
		timeout = time.Second
	}
	base := "sluice:bayes:{" + name + "}:"
	return &RedisStore{c: c, counts: base + "counts", learnt: base + "learnt", timeout: timeout, local: local}
}

// Local returns the file store that keeps this node's weights.
func (s *RedisStore) Local() *FileStore { return s.local }

func (s *RedisStore) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// Counts implements Store with one HMGET of the totals and the tokens.
func (s *RedisStore) Counts(tokens []string, spam, ham []float64) (int, int, error) {
	fields := make([]string, 0, 2+2*len(tokens))
	fields = append(fields, "#s", "#h")
	for _, t := range tokens {
		fields = append(fields, "s:"+t, "h:"+t)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	vals, err := s.c.HMGet(ctx, s.counts, fields...).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("bayes: redis: %w", err)
	}
	if len(vals) != len(fields) {
		return 0, 0, errors.New("bayes: redis: short HMGET reply")
	}
	n := make([]float64, len(vals))
	for i, v := range vals {
		if n[i], err = count(v); err != nil {
			return 0, 0, err
		}
	}
	for i := range tokens {
		spam[i], ham[i] = n[2+2*i], n[3+2*i]
	}
	return int(n[0]), int(n[1]), nil
}

// count reads one HMGET value: nil for a field never set.
func count(v any) (float64, error) {
	if v == nil {
		return 0, nil
	}
	str, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("bayes: redis: unexpected value %T", v)
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bayes: redis: bad count %q", str)
	}
	return float64(max(n, 0)), nil
}

// learnScript is FileStore's apply on the shared counts: ARGV[1] the
// digest, ARGV[2] the class ("s", "h", or "u" to unlearn), ARGV[3] the
// tokenizer version, ARGV[4..] the tokens. It returns {changed, previous
// class or ""}. A token whose count falls to zero is deleted, so the hash
// holds only what was learnt.
var learnScript = redis.NewScript(`
local function add(class, delta)
  for i = 4, #ARGV do
    local f = class .. ':' .. ARGV[i]
    local n = redis.call('HINCRBY', KEYS[1], f, delta)
    if n <= 0 then
      redis.call('HDEL', KEYS[1], f)
      if n == 0 then redis.call('HINCRBY', KEYS[1], '#t' .. class, -1) end
    elseif n == 1 and delta > 0 then
      redis.call('HINCRBY', KEYS[1], '#t' .. class, 1)
    end
  end
  if redis.call('HINCRBY', KEYS[1], '#' .. class, delta) < 0 then
    redis.call('HSET', KEYS[1], '#' .. class, 0)
  end
end
local prev = redis.call('HGET', KEYS[2], ARGV[1])
local want = ARGV[2]
if want == 'u' then
  if not prev then return {0, ''} end
  add(prev, -1)
  redis.call('HDEL', KEYS[2], ARGV[1])
  return {1, prev}
end
if prev == want then return {0, prev} end
if prev then add(prev, -1) end
add(want, 1)
redis.call('HSET', KEYS[2], ARGV[1], want)
redis.call('HSET', KEYS[1], '#v', ARGV[3])
return {1, prev or ''}
`)

// Apply implements Store: the counts change on Redis in one script run,
// then, when they did, this node's weights take the message's step.
func (s *RedisStore) Apply(c Change) (bool, error) {
	class := "u"
	if !c.Unlearn {
		switch c.Class {
		case Spam:
			class = "s"
		case Ham:
			class = "h"
		default:
			return false, fmt.Errorf("bayes: cannot learn as %v", c.Class)
		}
	}
	args := make([]any, 0, 3+len(c.Tokens))
	args = append(args, hex.EncodeToString(c.Digest[:]), class, TokenizerVersion)
	for _, t := range c.Tokens {
		args = append(args, t)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	out, err := learnScript.Run(ctx, s.c, []string{s.counts, s.learnt}, args...).Slice()
	if err != nil {
		return false, fmt.Errorf("bayes: redis: %w", err)
	}
	if len(out) != 2 {
		return false, errors.New("bayes: redis: unexpected learn reply")
	}
	if changed, _ := out[0].(int64); changed != 1 {
		return false, nil
	}
	// The weights are this node's: the local store remembers the steps it
	// took, so a move or an unlearn takes back exactly what this node
	// added (nothing, for a message learnt on another node).
	w := c
	w.Tokens = nil
	if _, err := s.local.Apply(w); err != nil {
		return true, fmt.Errorf("bayes weights: %w", err)
	}
	return true, nil
}

// Margin implements Store from this node's weights.
func (s *RedisStore) Margin(features []uint32) (float64, error) {
	return s.local.Margin(features)
}

// Stats implements Store: the shared totals, and this node's weights.
func (s *RedisStore) Stats() (Stats, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	vals, err := s.c.HMGet(ctx, s.counts, "#s", "#h", "#ts", "#th", "#v").Result()
	if err != nil {
		return Stats{}, fmt.Errorf("bayes: redis: %w", err)
	}
	var n [5]float64
	for i, v := range vals {
		if i < len(n) {
			if n[i], err = count(v); err != nil {
				return Stats{}, err
			}
		}
	}
	local, err := s.local.Stats()
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Spam: int(n[0]), Ham: int(n[1]), SpamTokens: int(n[2]), HamTokens: int(n[3]),
		Tokenizer: int(n[4]), Weights: local.Weights}
	if st.Tokenizer == 0 {
		st.Tokenizer = TokenizerVersion // nothing learnt yet
	}
	return st, nil
}

// Save implements Store: Redis keeps the counts (durable as its own
// persistence is configured); the weights are saved to the node's file.
func (s *RedisStore) Save() error { return s.local.Save() }
