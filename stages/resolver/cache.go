package resolver

import (
	"sync"
	"time"
)

// cacheKey identifies one question: the lower-case FQDN and the type.
type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	answer  *Answer
	expires time.Time
}

// cache holds definite answers, positive and negative (RFC 2308), until
// their TTL runs out. It is bounded: when full, expired entries are swept
// and, if that is not enough, arbitrary entries are evicted (Go map order),
// which costs nothing to track and is good enough for a mail server whose
// hot names (DNSBL zones, big senders) are asked again within seconds.
type cache struct {
	mu      sync.RWMutex
	entries map[cacheKey]cacheEntry
	size    int
	maxTTL  time.Duration
	now     func() time.Time
}

func newCache(size int, maxTTL time.Duration) *cache {
	return &cache{entries: make(map[cacheKey]cacheEntry, min(size, 1024)), size: size, maxTTL: maxTTL, now: time.Now}
}

// get returns the cached answer with its TTL reduced to what remains.
func (c *cache) get(k cacheKey) (*Answer, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	left := e.expires.Sub(c.now())
	if left <= 0 {
		return nil, false
	}
	a := *e.answer
	a.TTL = left.Truncate(time.Second)
	return &a, true
}

// put stores a, unless its TTL is zero (RFC 1035 section 3.2.1: do not cache).
func (c *cache) put(k cacheKey, a *Answer) {
	if c == nil || a.TTL <= 0 {
		return
	}
	ttl := min(a.TTL, c.maxTTL)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.size {
		c.evict(now)
	}
	c.entries[k] = cacheEntry{answer: a, expires: now.Add(ttl)}
}

// evict makes room for at least one entry. Called with mu held.
func (c *cache) evict(now time.Time) {
	for k, e := range c.entries {
		if !e.expires.After(now) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.size {
			return
		}
		delete(c.entries, k)
	}
}

// len reports the number of entries, expired or not.
func (c *cache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// keyOf returns the cache key of a question, false for a name that cannot
// exist (see canonicalName).
func keyOf(name string, qtype uint16) (cacheKey, bool) {
	n, ok := canonicalName(name)
	return cacheKey{name: n, qtype: qtype}, ok
}
