package milter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sluicemail/sluice/engine"
)

// RuleMetrics is told of each verdict and stage run. The SMTP server's
// metrics (smtp.Metrics) implement it, so that sluice_verdicts_total,
// sluice_rule_hits_total and sluice_stage_duration_seconds count mail the
// same way whether it came through a listener of ours or through the MTA
// in front: same pipeline names (inbound, outbound), same stages.
type RuleMetrics interface {
	Verdict(pipeline string, v engine.Verdict)
	Stage(stage, outcome string, took time.Duration)
}

// The answers a milter gives for a message (the replies label): what the
// MTA did with it. Junk, quarantine, redirect and header edits are accepts
// with modifications; sluice_verdicts_total tells them apart.
const (
	replyAccept   = "accept"
	replyReject   = "reject"   // 5xx
	replyTempfail = "tempfail" // 4xx
	replyDiscard  = "discard"
	replyError    = "error" // we failed: the MTA applies milter_default_action
)

// Metrics counts what the milter did, beside the rule metrics it shares
// with the SMTP server. It is a prometheus.Collector for the admin
// listener's /metrics.
type Metrics struct {
	sessions    prometheus.Counter
	connections prometheus.Gauge
	replies     *prometheus.CounterVec
}

// NewMetrics returns zeroed counters.
func NewMetrics() *Metrics {
	m := &Metrics{
		sessions: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_milter_sessions_total",
			Help: "SMTP sessions the MTA ran through the milter (one per SMTP connection it received)."}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_milter_connections",
			Help: "Milter connections from the MTA open now."}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_milter_replies_total",
			Help: "Milter answers that ended a message or refused a command, by action " +
				"(accept, reject, tempfail, discard, error: the MTA's milter_default_action applied)."}, []string{"action"}),
	}
	for _, a := range []string{replyAccept, replyReject, replyTempfail, replyDiscard, replyError} {
		m.replies.WithLabelValues(a) // every action shows, at 0, from the start
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.sessions.Describe(ch)
	m.connections.Describe(ch)
	m.replies.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.sessions.Collect(ch)
	m.connections.Collect(ch)
	m.replies.Collect(ch)
}

// replyAction is the replies label of a reject or tempfail verdict.
func replyAction(v engine.Verdict) string {
	if v.Action == engine.ActionTempfail || v.Code/100 == 4 {
		return replyTempfail
	}
	return replyReject
}
