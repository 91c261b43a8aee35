package health

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/stages/resolver"
)

// DefaultDNSWindow is how far back DNS outcomes count: /readyz degrades
// within it after the servers go silent and recovers within it after they
// return (config dns.health_window).
const DefaultDNSWindow = time.Minute

// DNSOptions configure a DNS tracker. Zero values mean the defaults.
type DNSOptions struct {
	// Window is how far back outcomes count. Default DefaultDNSWindow.
	Window time.Duration
	// MaxFailureRatio is the share of failed exchanges in the window
	// from which the resolver counts as degraded. Default 0.5.
	MaxFailureRatio float64
	// Probe, if set, asks upstream something uncached; it is called when
	// no exchange happened for a quarter of the window (and while
	// degraded), so that silence is noticed without mail coming in.
	Probe  func(ctx context.Context) error
	Logger *slog.Logger
}

// DNS tracks the outcomes of the resolver's exchanges with its servers
// (fed by resolver.ClientOptions.Observe): the failure ratio over a window,
// the last error, the Prometheus counters, and a rate-limited WARN line
// while it fails. It is safe for concurrent use.
type DNS struct {
	opts     DNSOptions
	mu       sync.Mutex
	events   []outcome // in time order, pruned to the window
	last     time.Time // the last exchange
	lastErr  string
	warned   time.Time // the last WARN line
	degraded bool

	queries  *prometheus.CounterVec
	failures *prometheus.CounterVec
	latency  prometheus.Histogram
	state    prometheus.GaugeFunc
}

type outcome struct {
	at     time.Time
	failed bool
}

// NewDNS returns a tracker.
func NewDNS(o DNSOptions) *DNS {
	if o.Window <= 0 {
		o.Window = DefaultDNSWindow
	}
	if o.MaxFailureRatio <= 0 {
		o.MaxFailureRatio = 0.5
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &DNS{opts: o}
	d.queries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_dns_queries_total",
		Help: "Exchanges with upstream DNS servers, by query type and response code (rcode \"\" without a response)."}, []string{"type", "rcode"})
	d.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_dns_failures_total",
		Help: "Exchanges with upstream DNS servers that failed, by reason (timeout, network, servfail, refused...)."}, []string{"reason"})
	d.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_dns_query_duration_seconds",
		Help: "Time of one exchange with an upstream DNS server.", Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}})
	d.state = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_dns_degraded",
		Help: "1 while the share of failed DNS exchanges in the health window is too high (see /readyz)."}, func() float64 {
		if d.Err() != nil {
			return 1
		}
		return 0
	})
	return d
}

// Observe records one exchange; it is the resolver's Observe hook.
func (d *DNS) Observe(x resolver.Attempt) {
	d.queries.WithLabelValues(x.Type, x.Rcode).Inc()
	d.latency.Observe(x.Duration.Seconds())
	if x.Reason != "" {
		d.failures.WithLabelValues(x.Reason).Inc()
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, outcome{at: now, failed: x.Reason != ""})
	d.last = now
	if x.Err != nil {
		d.lastErr = x.Err.Error()
	}
	d.prune(now)
}

// prune drops outcomes older than the window. Call with d.mu held.
func (d *DNS) prune(now time.Time) {
	i := 0
	for i < len(d.events) && now.Sub(d.events[i].at) > d.opts.Window {
		i++
	}
	d.events = d.events[i:]
}

// Err returns nil while DNS works, or why it is degraded: the failure ratio
// in the window and the last error.
func (d *DNS) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.errLocked(time.Now())
}

func (d *DNS) errLocked(now time.Time) error {
	d.prune(now)
	failed := 0
	for _, e := range d.events {
		if e.failed {
			failed++
		}
	}
	if failed == 0 || float64(failed)/float64(len(d.events)) < d.opts.MaxFailureRatio {
		return nil
	}
	return fmt.Errorf("%d of %d DNS exchanges failed in the last %s; last error: %s", failed, len(d.events), d.opts.Window, d.lastErr)
}

// Degraded reports whether Err is not nil: the dns.degraded fact.
func (d *DNS) Degraded() bool { return d.Err() != nil }

// Run probes and logs until ctx ends: every quarter of the window it
// probes if DNS was idle (or is degraded), then logs a WARN line when DNS
// becomes degraded and again at most once per window while it stays so,
// and an INFO line when it recovers.
func (d *DNS) Run(ctx context.Context) {
	tick := time.NewTicker(d.opts.Window / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		d.mu.Lock()
		idle := time.Since(d.last) >= d.opts.Window/4 || d.degraded
		d.mu.Unlock()
		if idle && d.opts.Probe != nil {
			pctx, cancel := context.WithTimeout(ctx, d.opts.Window/2)
			d.opts.Probe(pctx)
			cancel()
		}
		d.report()
	}
}

// report logs a change of state, rate-limited.
func (d *DNS) report() {
	now := time.Now()
	d.mu.Lock()
	err := d.errLocked(now)
	was := d.degraded
	d.degraded = err != nil
	warn := err != nil && (!was || now.Sub(d.warned) >= d.opts.Window)
	if warn {
		d.warned = now
	}
	d.mu.Unlock()
	switch {
	case warn:
		d.opts.Logger.Warn("DNS resolver degraded: checks give temperror", "reason", err.Error())
	case was && err == nil:
		d.opts.Logger.Info("DNS resolver recovered")
	}
}

// Describe implements prometheus.Collector.
func (d *DNS) Describe(ch chan<- *prometheus.Desc) {
	d.queries.Describe(ch)
	d.failures.Describe(ch)
	d.latency.Describe(ch)
	d.state.Describe(ch)
}

// Collect implements prometheus.Collector.
func (d *DNS) Collect(ch chan<- prometheus.Metric) {
	d.queries.Collect(ch)
	d.failures.Collect(ch)
	d.latency.Collect(ch)
	d.state.Collect(ch)
}
