package state

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicemail/sluice/engine"
)

// RedisOptions say how to reach the shared Redis.
type RedisOptions struct {
	Addr     string        // host:port
	Username string        // ACL user; "" for the default user
	Password string        // "" for none
	DB       int           // database number
	Timeout  time.Duration // per command and per connect; default 1s
	TLS      *tls.Config   // nil: plain TCP (RedisTLS builds one)
}

// RedisTLS returns the TLS settings to reach Redis at addr: its
// certificate verified against the PEM CAs in caFile (the system's when
// empty) for serverName (the host of addr when empty).
func RedisTLS(addr, caFile, serverName string) (*tls.Config, error) {
	if serverName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("state: redis tls: %w", err)
		}
		serverName = host
	}
	c := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("state: redis tls: %w", err)
	}
	c.RootCAs = x509.NewCertPool()
	if !c.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("state: redis tls: no PEM certificate in %s", caFile)
	}
	return c, nil
}

// RedisPassword reads a password file: its first line, without the
// newline an editor leaves.
func RedisPassword(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("state: redis password: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// Redis is the state shared by several nodes. Each operation is one round
// trip: a Lua script that reads, decides and writes atomically, so two
// nodes counting the same key at the same instant never both slip under a
// limit. Time comes from the node (the nodes' clocks must agree, as NTP
// makes them); the decisions are the same arithmetic as engine's
// (statecalc.go), written again in Lua.
type Redis struct {
	c   *redis.Client
	now func() time.Time
}

// keyPrefix keeps sluice's keys apart in a Redis shared with others.
const keyPrefix = "sluice:"

// OpenRedis connects lazily: a Redis that is down at start is not an
// error, its operations fail (temperror) until it is back.
func OpenRedis(o RedisOptions) *Redis {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	c := redis.NewClient(&redis.Options{
		Addr: o.Addr, Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLS,
		DialTimeout: o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
		ContextTimeoutEnabled: true, MaxRetries: 1,
		// No client-side identity call at connect (CLIENT SETINFO): older
		// servers and miniredis refuse it, and it costs a round trip.
		DisableIdentity: true,
	})
	return &Redis{c: c, now: time.Now}
}

// Client returns the connection pool, for the other users of the shared
// Redis (the Bayes token counts: stages/bayes.ShareCounts).
func (r *Redis) Client() *redis.Client { return r.c }

// Close closes the connections.
func (r *Redis) Close() error { return r.c.Close() }

// Ping checks that Redis answers (for the start-up log and doctor).
func (r *Redis) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }

// rateScript is RateCounter.Hit on two keys, one per window.
var rateScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = tonumber(ARGV[2])
local est = math.floor(prev * tonumber(ARGV[1])) + cur
if est + n > tonumber(ARGV[3]) then
  return {est, 1}
end
redis.call('INCRBY', KEYS[1], n)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {est + n, 0}
`)

// RateHit implements engine.State.
func (r *Redis) RateHit(ctx context.Context, key string, limit engine.Rate, n int) (int, bool, error) {
	idx, w := engine.RateWindow(r.now(), limit.Per)
	base := keyPrefix + "rate:" + key + ":"
	keys := []string{base + strconv.FormatInt(idx, 10), base + strconv.FormatInt(idx-1, 10)}
	out, err := rateScript.Run(ctx, r.c, keys, strconv.FormatFloat(w, 'g', -1, 64), n, limit.Count, rateTTL(limit.Per).Milliseconds()).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("state: redis: %w", err)
	}
	if len(out) != 2 {
		return 0, false, errors.New("state: redis: unexpected rate reply")
	}
	return int(out[0]), out[1] == 1, nil
}

// greylistScript is engine.DecideGreylist. A triplet's value is
// "FIRST_MS:PASSED"; the network key counts the triplets that passed.
var greylistScript = redis.NewScript(`
local now, delay, window, keep, passAfter = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local passes = tonumber(redis.call('GET', KEYS[2]) or '0')
local v = redis.call('GET', KEYS[1])
if passAfter > 0 and passes >= passAfter then
  redis.call('PEXPIRE', KEYS[2], keep)
  if not v then redis.call('SET', KEYS[1], now .. ':1', 'PX', keep) end
  return {1, 0, 'network'}
end
if v then
  local sep = string.find(v, ':', 1, true)
  local first = tonumber(string.sub(v, 1, sep - 1))
  if string.sub(v, sep + 1) == '1' then
    redis.call('PEXPIRE', KEYS[1], keep)
    if passes > 0 then redis.call('PEXPIRE', KEYS[2], keep) end
    return {1, 0, 'known'}
  end
  if now < first + delay then
    return {0, first + delay - now, 'early'}
  end
  if now <= first + window then
    redis.call('SET', KEYS[1], first .. ':1', 'PX', keep)
    redis.call('INCR', KEYS[2])
    redis.call('PEXPIRE', KEYS[2], keep)
    return {1, 0, 'passed'}
  end
end
redis.call('SET', KEYS[1], now .. ':0', 'PX', window)
return {0, delay, 'new'}
`)

// Greylist implements engine.State.
func (r *Redis) Greylist(ctx context.Context, t engine.Triplet, s engine.GreylistSettings) (engine.GreylistResult, error) {
	keys := []string{keyPrefix + "grey:" + t.Key(), keyPrefix + "greynet:" + t.Network}
	out, err := greylistScript.Run(ctx, r.c, keys, r.now().UnixMilli(), s.Delay.Milliseconds(),
		s.Window.Milliseconds(), s.Keep.Milliseconds(), s.PassAfter).Slice()
	if err != nil {
		return engine.GreylistResult{}, fmt.Errorf("state: redis: %w", err)
	}
	if len(out) != 3 {
		return engine.GreylistResult{}, errors.New("state: redis: unexpected greylist reply")
	}
	pass, _ := out[0].(int64)
	retry, _ := out[1].(int64)
	reason, _ := out[2].(string)
	return engine.GreylistResult{Pass: pass == 1, RetryAfter: time.Duration(retry) * time.Millisecond, Reason: reason}, nil
}

// banScript counts a failure; at max it bans and starts the count over.
var banScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
return n
`)

// AuthFailed implements Bans.
func (r *Redis) AuthFailed(ctx context.Context, ip string, max int, ban time.Duration) error {
	keys := []string{keyPrefix + "authfail:" + ip, keyPrefix + "ban:" + ip}
	if err := banScript.Run(ctx, r.c, keys, max, ban.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("state: redis: %w", err)
	}
	return nil
}

// Banned implements Bans.
func (r *Redis) Banned(ctx context.Context, ip string) (bool, error) {
	n, err := r.c.Exists(ctx, keyPrefix+"ban:"+ip).Result()
	if err != nil {
		return false, fmt.Errorf("state: redis: %w", err)
	}
	return n > 0, nil
}
