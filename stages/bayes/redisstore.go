package bayes

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// Keys (the braces keep them in one Redis Cluster slot, which the learn
// script needs):
//
//	sluice:bayes:{NAME}:counts   hash: token -> "SPAM HAM", the messages of
//	                             each class that held it (absent: 0 0)
//	sluice:bayes:{NAME}:totals   hash: spam, ham -> messages learnt;
//	                             tokens_spam, tokens_ham -> distinct
//	                             tokens; tokenizer -> its version
//	sluice:bayes:{NAME}:learnt   hash: hex digest -> "s" or "h"
//
// Classifying is one pipelined round trip (HMGET of the totals, HMGET of
// the message's tokens: one field per token, so Redis looks each up once);
// learning or unlearning is one Lua script (one round trip, atomic across
// nodes).
type RedisStore struct {
	c       redis.UniversalClient
	counts  string
	totals  string
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
	return &RedisStore{c: c, counts: base + "counts", totals: base + "totals", learnt: base + "learnt", timeout: timeout, local: local}
}

// Local returns the file store that keeps this node's weights.
func (s *RedisStore) Local() *FileStore { return s.local }

func (s *RedisStore) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// Counts implements Store with one round trip: the totals and the
// tokens' counts, pipelined.
func (s *RedisStore) Counts(tokens []string, spam, ham []float64) (int, int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	pipe := s.c.Pipeline()
	tot := pipe.HMGet(ctx, s.totals, "spam", "ham")
	var toks *redis.SliceCmd
	if len(tokens) > 0 {
		toks = pipe.HMGet(ctx, s.counts, tokens...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("bayes: redis: %w", err)
	}
	var n [2]float64
	if err := totals(tot.Val(), n[:]); err != nil {
		return 0, 0, err
	}
	if toks != nil {
		vals := toks.Val()
		if len(vals) != len(tokens) {
			return 0, 0, errors.New("bayes: redis: short HMGET reply")
		}
		for i, v := range vals {
			var err error
			if spam[i], ham[i], err = pair(v); err != nil {
				return 0, 0, err
			}
		}
	}
	return int(n[0]), int(n[1]), nil
}

// totals reads HMGET values into n: nil for a field never set.
func totals(vals []any, n []float64) error {
	if len(vals) != len(n) {
		return errors.New("bayes: redis: short HMGET reply")
	}
	for i, v := range vals {
		if v == nil {
			continue
		}
		str, _ := v.(string)
		x, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return fmt.Errorf("bayes: redis: bad count %q", str)
		}
		n[i] = float64(max(x, 0))
	}
	return nil
}

// pair reads a token's "SPAM HAM" (nil: never learnt).
func pair(v any) (spam, ham float64, err error) {
	if v == nil {
		return 0, 0, nil
	}
	str, _ := v.(string)
	a, b, ok := strings.Cut(str, " ")
	x, err1 := strconv.ParseUint(a, 10, 32)
	y, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("bayes: redis: bad token counts %q", str)
	}
	return float64(x), float64(y), nil
}

// learnScript is FileStore's apply on the shared counts: ARGV[1] the
// digest, ARGV[2] the class ("s", "h", or "u" to unlearn), ARGV[3] the
// tokenizer version, ARGV[4..] the tokens. It returns {changed, previous
// class or ""}. A token whose counts fall to zero is deleted, so the hash
// holds only what was learnt.
var learnScript = redis.NewScript(`
local function add(class, delta)
  local distinct = 0
  for i = 4, #ARGV do
    local t = ARGV[i]
    local v = redis.call('HGET', KEYS[1], t)
    local s, h = 0, 0
    if v then
      local sp = string.find(v, ' ', 1, true)
      s, h = tonumber(string.sub(v, 1, sp - 1)), tonumber(string.sub(v, sp + 1))
    end
    local before = h
    if class == 's' then before = s end
    local after = before + delta
    if after < 0 then after = 0 end
    if class == 's' then s = after else h = after end
    if before == 0 and after > 0 then distinct = distinct + 1 end
    if before > 0 and after == 0 then distinct = distinct - 1 end
    if s == 0 and h == 0 then
      redis.call('HDEL', KEYS[1], t)
    else
      redis.call('HSET', KEYS[1], t, string.format('%d %d', s, h))
    end
  end
  local name = 'ham'
  if class == 's' then name = 'spam' end
  redis.call('HINCRBY', KEYS[2], 'tokens_' .. name, distinct)
  if redis.call('HINCRBY', KEYS[2], name, delta) < 0 then
    redis.call('HSET', KEYS[2], name, 0)
  end
end
local prev = redis.call('HGET', KEYS[3], ARGV[1])
local want = ARGV[2]
if want == 'u' then
  if not prev then return {0, ''} end
  add(prev, -1)
  redis.call('HDEL', KEYS[3], ARGV[1])
  return {1, prev}
end
if prev == want then return {0, prev} end
if prev then add(prev, -1) end
add(want, 1)
redis.call('HSET', KEYS[3], ARGV[1], want)
redis.call('HSET', KEYS[2], 'tokenizer', ARGV[3])
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
	out, err := learnScript.Run(ctx, s.c, []string{s.counts, s.totals, s.learnt}, args...).Slice()
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
	vals, err := s.c.HMGet(ctx, s.totals, "spam", "ham", "tokens_spam", "tokens_ham", "tokenizer").Result()
	if err != nil {
		return Stats{}, fmt.Errorf("bayes: redis: %w", err)
	}
	var n [5]float64
	if err := totals(vals, n[:]); err != nil {
		return Stats{}, err
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
