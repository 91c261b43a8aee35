package smtp

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/engine"
)

// Metrics counts what the SMTP server did. It is a prometheus.Collector
// for the admin listener's /metrics; the plain counters stay atomics so
// that the session code only adds to them.
type Metrics struct {
	mu       sync.Mutex
	messages map[[2]string]*atomic.Int64 // transactions by listener and outcome

	RelayDenied  atomic.Int64 // RCPTs refused as relay attempts
	UnknownRcpt  atomic.Int64 // RCPTs refused for an unknown local user
	AuthFailures atomic.Int64 // failed AUTH attempts
	AuthSuccess  atomic.Int64 // successful AUTH
	AuthBans     atomic.Int64 // clients banned for too many AUTH failures
	BadData      atomic.Int64 // messages refused for malformed or oversized DATA
	Pregreet     atomic.Int64 // clients dropped for talking before the greeting
	NoStorage    atomic.Int64 // MAILs refused while the data file system was too full

	sessions *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	ruleHits *prometheus.CounterVec
	stages   *prometheus.HistogramVec
	size     prometheus.Histogram
	replies  *prometheus.CounterVec
}

// NewMetrics returns zeroed counters.
func NewMetrics() *Metrics {
	return &Metrics{
		messages: map[[2]string]*atomic.Int64{},
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_smtp_sessions_total",
			Help: "SMTP sessions (connections) ended, by listener and outcome: accepted (a message was taken), refused (every transaction was refused), empty (no transaction ended), pregreet (dropped for talking before the greeting)."},
			[]string{"listener", "outcome"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_verdicts_total",
			Help: "Verdicts of the rules, by pipeline (inbound, outbound) and action."}, []string{"pipeline", "action"}),
		ruleHits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_rule_hits_total",
			Help: "Rules that fired, by pipeline and rule name."}, []string{"pipeline", "rule"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_stage_duration_seconds",
			Help:    "Time a check stage took, by stage and outcome (ok, temperror, permerror, timeout).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"stage", "outcome"}),
		size: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sluice_smtp_message_size_bytes",
			Help: "Size of the messages received (DATA).", Buckets: prometheus.ExponentialBuckets(1024, 4, 9)}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_smtp_replies_total",
			Help: "SMTP replies sent, by listener and code class (2xx, 3xx, 4xx, 5xx)."}, []string{"listener", "class"}),
	}
}

// Message counts one transaction's outcome (the final action) on a listener.
func (m *Metrics) Message(listener, action string) {
	key := [2]string{listener, action}
	m.mu.Lock()
	c := m.messages[key]
	if c == nil {
		c = new(atomic.Int64)
		m.messages[key] = c
	}
	m.mu.Unlock()
	c.Add(1)
}

// Messages returns the count for a listener and action.
func (m *Metrics) Messages(listener, action string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.messages[[2]string{listener, action}]; c != nil {
		return c.Load()
	}
	return 0
}

// Session outcomes (the outcome label of sluice_smtp_sessions_total).
const (
	sessionAccepted = "accepted"
	sessionRefused  = "refused"
	sessionEmpty    = "empty"
	sessionPregreet = "pregreet"
)

// listening makes a listener's session series exist from its start, so
// that rate() sees the first session of each outcome.
func (m *Metrics) listening(listener string) {
	for _, o := range []string{sessionAccepted, sessionRefused, sessionEmpty, sessionPregreet} {
		m.sessions.WithLabelValues(listener, o)
	}
}

// Session counts one SMTP connection that ended. go-smtp makes a new
// session object after STARTTLS, so this is counted per connection
// (limitedConn), never per session object.
func (m *Metrics) Session(listener, outcome string) {
	m.sessions.WithLabelValues(listener, outcome).Inc()
}

// Verdict counts a verdict and the rules that fired in it.
func (m *Metrics) Verdict(pipeline string, v engine.Verdict) {
	m.verdicts.WithLabelValues(pipeline, v.Action).Inc()
	for _, f := range v.Fired {
		m.ruleHits.WithLabelValues(pipeline, f.Name).Inc()
	}
}

// Stage records one stage run; it is the transactions' engine.StageObserver.
func (m *Metrics) Stage(stage, outcome string, took time.Duration) {
	m.stages.WithLabelValues(stage, outcome).Observe(took.Seconds())
}

// Size records the size of a message received.
func (m *Metrics) Size(n int) { m.size.Observe(float64(n)) }

var (
	transactionsDesc = prometheus.NewDesc("sluice_smtp_transactions_total",
		"SMTP transactions by listener and outcome (the action that ended them).", []string{"listener", "outcome"}, nil)
	plainCounters = []struct {
		desc *prometheus.Desc
		get  func(*Metrics) *atomic.Int64
	}{
		{prometheus.NewDesc("sluice_smtp_relay_denied_total", "Recipients refused as relay attempts.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.RelayDenied }},
		{prometheus.NewDesc("sluice_smtp_unknown_recipient_total", "Recipients refused as unknown local users.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.UnknownRcpt }},
		{prometheus.NewDesc("sluice_smtp_auth_failures_total", "Failed SMTP AUTH attempts.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.AuthFailures }},
		{prometheus.NewDesc("sluice_smtp_auth_success_total", "Successful SMTP AUTH.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.AuthSuccess }},
		{prometheus.NewDesc("sluice_smtp_auth_bans_total", "Clients banned for too many AUTH failures.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.AuthBans }},
		{prometheus.NewDesc("sluice_smtp_bad_data_total", "Messages refused for malformed or oversized DATA.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.BadData }},
		{prometheus.NewDesc("sluice_smtp_pregreet_total", "Clients dropped for talking before the greeting.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.Pregreet }},
		{prometheus.NewDesc("sluice_smtp_no_storage_total", "MAILs refused while the data file system was too full.", nil, nil), func(m *Metrics) *atomic.Int64 { return &m.NoStorage }},
	}
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- transactionsDesc
	for _, c := range plainCounters {
		ch <- c.desc
	}
	m.sessions.Describe(ch)
	m.verdicts.Describe(ch)
	m.ruleHits.Describe(ch)
	m.stages.Describe(ch)
	m.size.Describe(ch)
	m.replies.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	for k, c := range m.messages {
		ch <- prometheus.MustNewConstMetric(transactionsDesc, prometheus.CounterValue, float64(c.Load()), k[0], k[1])
	}
	m.mu.Unlock()
	for _, c := range plainCounters {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.get(m).Load()))
	}
	m.sessions.Collect(ch)
	m.verdicts.Collect(ch)
	m.ruleHits.Collect(ch)
	m.stages.Collect(ch)
	m.size.Collect(ch)
	m.replies.Collect(ch)
}
