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

// learnScript is FileStore's apply on the shared counts, for one message
// or a batch of them (`sluice train`, RedisBatch). ARGV[1] is the tokenizer
// version; then per message: its digest, its class ("s", "h", or "u" to
// unlearn), its number of tokens n, and its n tokens. Messages apply in
// order (a later one sees an earlier one's learn); their token changes are
// summed first and each token is read and written once for the whole
// batch, which is what makes a batch cheaper than its messages one by one
// (tokens recur across messages). It returns {changed, previous class or
// ""} per message, flattened. A token whose counts fall to zero is
// deleted, so the hash holds only what was learnt.
var learnScript = redis.NewScript(`
local learnt, delta, order = {}, {}, {}
local dn = {s = 0, h = 0}
local out = {}
local learned = false
local function add(class, d, first, last)
  dn[class] = dn[class] + d
  for j = first, last do
    local t = ARGV[j]
    local e = delta[t]
    if not e then
      e = {s = 0, h = 0}
      delta[t] = e
      order[#order + 1] = t
    end
    e[class] = e[class] + d
  end
end
local i = 2
while i <= #ARGV do
  local digest, want, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local first, last = i + 3, i + 2 + n
  i = last + 1
  local prev = learnt[digest]
  if prev == nil then prev = redis.call('HGET', KEYS[3], digest) end
  if want == 'u' then
    if prev then
      add(prev, -1, first, last)
      learnt[digest] = false
      redis.call('HDEL', KEYS[3], digest)
      out[#out + 1], out[#out + 2] = 1, prev
    else
      out[#out + 1], out[#out + 2] = 0, ''
    end
  elseif prev == want then
    out[#out + 1], out[#out + 2] = 0, prev
  else
    if prev then add(prev, -1, first, last) end
    add(want, 1, first, last)
    learnt[digest] = want
    learned = true
    redis.call('HSET', KEYS[3], digest, want)
    out[#out + 1], out[#out + 2] = 1, prev or ''
  end
end
local distinct = {s = 0, h = 0}
local function moved(class, before, after)
  if before == 0 and after > 0 then distinct[class] = distinct[class] + 1 end
  if before > 0 and after == 0 then distinct[class] = distinct[class] - 1 end
end
-- Tokens in chunks: one HMGET, one HSET and one HDEL per chunk rather than
-- calls per token (a call costs more than the work; unpack's stack limit
-- bounds the chunk).
local todo = {}
for _, t in ipairs(order) do
  local e = delta[t]
  if e.s ~= 0 or e.h ~= 0 then todo[#todo + 1] = t end
end
for c = 1, #todo, 1000 do
  local chunk = {}
  for j = c, math.min(c + 999, #todo) do chunk[#chunk + 1] = todo[j] end
  local vals = redis.call('HMGET', KEYS[1], unpack(chunk))
  local set, del = {}, {}
  for j, t in ipairs(chunk) do
    local e, v = delta[t], vals[j]
    local s, h = 0, 0
    if v then
      local sp = string.find(v, ' ', 1, true)
      s, h = tonumber(string.sub(v, 1, sp - 1)), tonumber(string.sub(v, sp + 1))
    end
    local s2, h2 = math.max(s + e.s, 0), math.max(h + e.h, 0)
    moved('s', s, s2)
    moved('h', h, h2)
    if s2 == 0 and h2 == 0 then
      if v then del[#del + 1] = t end
    else
      set[#set + 1] = t
      set[#set + 1] = string.format('%d %d', s2, h2)
    end
  end
  if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
  if #del > 0 then redis.call('HDEL', KEYS[1], unpack(del)) end
end
for class, name in pairs({s = 'spam', h = 'ham'}) do
  if distinct[class] ~= 0 then redis.call('HINCRBY', KEYS[2], 'tokens_' .. name, distinct[class]) end
  if dn[class] ~= 0 and redis.call('HINCRBY', KEYS[2], name, dn[class]) < 0 then
    redis.call('HSET', KEYS[2], name, 0)
  end
end
if learned then redis.call('HSET', KEYS[2], 'tokenizer', ARGV[1]) end
return out
`)

// learnResult is what the script says of one message.
type learnResult struct {
	changed bool
	prev    string // "s", "h" or "" (not learnt before)
}

// scriptClass is a change's class argument.
func scriptClass(c Change) (string, error) {
	if c.Unlearn {
		return "u", nil
	}
	switch c.Class {
	case Spam:
		return "s", nil
	case Ham:
		return "h", nil
	}
	return "", fmt.Errorf("bayes: cannot learn as %v", c.Class)
}

// learn runs the script on changes, in one round trip, within timeout.
func (s *RedisStore) learn(changes []Change, timeout time.Duration) ([]learnResult, error) {
	n := 1
	for _, c := range changes {
		n += 3 + len(c.Tokens)
	}
	args := make([]any, 0, n)
	args = append(args, TokenizerVersion)
	for _, c := range changes {
		class, err := scriptClass(c)
		if err != nil {
			return nil, err
		}
		args = append(args, hex.EncodeToString(c.Digest[:]), class, len(c.Tokens))
		for _, t := range c.Tokens {
			args = append(args, t)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := learnScript.Run(ctx, s.c, []string{s.counts, s.totals, s.learnt}, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("bayes: redis: %w", err)
	}
	if len(out) != 2*len(changes) {
		return nil, errors.New("bayes: redis: unexpected learn reply")
	}
	res := make([]learnResult, len(changes))
	for i := range res {
		changed, _ := out[2*i].(int64)
		prev, _ := out[2*i+1].(string)
		res[i] = learnResult{changed: changed == 1, prev: prev}
	}
	return res, nil
}

// Apply implements Store: the counts change on Redis in one script run,
// then, when they did, this node's weights take the message's step.
func (s *RedisStore) Apply(c Change) (bool, error) {
	res, err := s.learn([]Change{c}, s.timeout)
	if err != nil {
		return false, err
	}
	if !res[0].changed {
		return false, nil
	}
	return true, s.stepWeights(c)
}

// stepWeights applies a change to this node's weights. The weights are
// this node's: the local store remembers the steps it took, so a move or
// an unlearn takes back exactly what this node added (nothing, for a
// message learnt on another node).
func (s *RedisStore) stepWeights(c Change) error {
	w := c
	w.Tokens = nil
	if _, err := s.local.Apply(w); err != nil {
		return fmt.Errorf("bayes weights: %w", err)
	}
	return nil
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
