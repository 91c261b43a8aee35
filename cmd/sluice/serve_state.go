package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/server/config"
	"github.com/sluicemail/sluice/server/state"
	"github.com/sluicemail/sluice/stages/bayes"
	"github.com/sluicemail/sluice/stages/resolver"
)

// openState opens the state of rate limits, greylisting, auth bans and
// Bayes token counts: Redis when the config names one (shared by every
// node that does), else files in the data directory. A Redis that is down
// at start is logged, not fatal: its users see temperror until it answers.
func (in *instance) openState() error {
	r := in.cfg.State.Redis
	if r == nil {
		e, err := state.OpenEmbedded(in.cfg.Data)
		if err != nil {
			return err
		}
		in.state = e
		return nil
	}
	rs, err := openRedis(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rs.Ping(ctx); err != nil {
		in.log.Warn("state: redis does not answer yet; rate limits, greylisting and bayes are temperror until it does", "addr", r.Addr, "err", err)
	} else {
		in.log.Info("state: redis", "addr", r.Addr, "db", r.DB)
	}
	in.state = rs
	if c, ok := in.dns.(*resolver.Client); ok && r.DNSCache {
		c.ShareCache(rs.DNSCache(), 0, in.log)
	}
	// The Bayes token counts go to the same Redis, so that a correction
	// on one node helps every node (the weights stay in the data dir).
	return bayes.ShareCounts(in.cfg.Data, rs.Client(), r.Timeout.D())
}

// openRedis connects to the config's Redis (lazily: see state.OpenRedis).
func openRedis(r *config.Redis) (*state.Redis, error) {
	pass, err := state.RedisPassword(r.PasswordFile)
	if err != nil {
		return nil, err
	}
	o := state.RedisOptions{Addr: r.Addr, Username: r.Username, Password: pass, DB: r.DB, Timeout: r.Timeout.D()}
	if r.TLS {
		if o.TLS, err = state.RedisTLS(r.Addr, r.CAFile, r.ServerName); err != nil {
			return nil, err
		}
	}
	return state.OpenRedis(o), nil
}

// closeState closes the state after everything that uses it has stopped.
func (in *instance) closeState() {
	if in.state != nil {
		bayes.StopSharing(in.cfg.Data)
		in.state.Close()
	}
}

// dnsCacheCollectors count the resolver's cache hits, its own and those
// of the cache shared through Redis (state.redis.dns_cache).
func (in *instance) dnsCacheCollectors() []prometheus.Collector {
	c, ok := in.dns.(*resolver.Client)
	if !ok {
		return nil
	}
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_dns_cache_hits_total",
			Help: "DNS queries answered from this node's cache."}, func() float64 { return float64(c.Stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_dns_shared_cache_hits_total",
			Help: "DNS queries answered from the cache shared through Redis (state.redis.dns_cache)."}, func() float64 { return float64(c.Stats().SharedHits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_dns_shared_cache_errors_total",
			Help: "Failed exchanges with the shared DNS cache; the upstream servers answer meanwhile."}, func() float64 { return float64(c.Stats().SharedErrors) }),
	}
}
