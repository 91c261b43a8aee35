package state

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// DNSCache is the resolver's shared answer cache (stages/resolver's
// SharedCache) on the same Redis as the rest of the state, so that every
// MX node asks the upstream servers once for an answer any of them has.
// Redis expires each answer with its TTL.
type DNSCache struct{ c *redis.Client }

// DNSCache returns the answer cache kept in r.
func (r *Redis) DNSCache() *DNSCache { return &DNSCache{c: r.c} }

// Get returns the answer stored under key and its time left, in one round
// trip; nil when there is none.
func (d *DNSCache) Get(ctx context.Context, key string) ([]byte, time.Duration, error) {
	key = keyPrefix + key
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := d.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get, ttl = p.Get(ctx, key), p.PTTL(ctx, key)
		return nil
	})
	if errors.Is(err, redis.Nil) || errors.Is(get.Err(), redis.Nil) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	b, _ := get.Bytes()
	return b, ttl.Val(), nil
}

// Set stores an answer under key for ttl.
func (d *DNSCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return d.c.Set(ctx, keyPrefix+key, value, ttl).Err()
}
