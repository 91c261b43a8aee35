package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/server/health"
	"github.com/sluicemail/sluice/stages/resolver"
)

// The health of a running server: what /readyz checks and what /metrics
// exports, wired from the parts cmd_serve.go starts.

// maxQueueBacklog is the number of queued messages past which /readyz says
// the queue is backed up: far more than a household or small company ever
// has waiting, unless delivery has stopped.
const maxQueueBacklog = 5000

// openTrackedResolver opens the configured resolver with its exchanges
// observed by a DNS health tracker, which it returns too; the tracker's
// probe and log run until ctx ends.
func openTrackedResolver(ctx context.Context, in *instance) (resolver.Resolver, *health.DNS, error) {
	var tracker *health.DNS
	dns, err := openResolver(in.cfg, func(x resolver.Attempt) { tracker.Observe(x) })
	if err != nil {
		return nil, nil, err
	}
	opts := health.DNSOptions{Window: in.cfg.DNS.HealthWindow.D(), Logger: in.log}
	if c, ok := dns.(*resolver.Client); ok {
		opts.Probe = c.Probe
	}
	tracker = health.NewDNS(opts)
	go tracker.Run(ctx)
	return dns, tracker, nil
}

// readiness lists the dependencies /readyz checks.
func (in *instance) readiness() []health.Check {
	checks := []health.Check{
		{Name: "dns", Run: in.dnsHealth.Err},
		{Name: "disk", Run: func() error {
			if in.headroom != nil && in.headroom.Low() {
				return fmt.Errorf("%d MB free in %s, below limits.min_free: new mail is refused (452 4.3.1)", in.headroom.Free()>>20, in.cfg.Data)
			}
			return nil
		}},
	}
	if in.certs != nil {
		checks = append(checks, health.Check{Name: "certificate", Run: in.certs.Check})
	}
	checks = append(checks,
		health.Check{Name: "queue", Run: func() error {
			if n := in.queue.Stats().Messages; n > maxQueueBacklog {
				return fmt.Errorf("%d messages queued (more than %d): is delivery stuck? see `sluice queue list`", n, maxQueueBacklog)
			}
			return nil
		}},
		health.Check{Name: "rules", Run: in.rulesHealth})
	return checks
}

// collectors are the metrics of every part, for /metrics.
func (in *instance) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{in.smtp.Metrics(), in.store, in.queue, in.dnsHealth,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_data_free_bytes",
			Help: "Free space of the file system holding the data directory."}, in.freeBytes),
	}
	cs = append(cs, in.rulesCollectors()...)
	cs = append(cs, in.dnsCacheCollectors()...)
	if in.certs != nil {
		cs = append(cs, in.certs)
	}
	if in.bayes != nil {
		cs = append(cs, in.bayes)
	}
	for _, s := range in.imap {
		cs = append(cs, s.Metrics())
	}
	if in.milter != nil {
		cs = append(cs, in.milter.Metrics())
	}
	return cs
}
