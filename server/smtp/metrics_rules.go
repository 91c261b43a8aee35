package smtp

import "github.com/prometheus/client_golang/prometheus"

// RuleCollectors are the rule-level metrics alone (sluice_verdicts_total,
// sluice_rule_hits_total, sluice_stage_duration_seconds), for a process
// that runs the rules without this SMTP server (`sluice milter`): its
// /metrics then shows no SMTP counters that could only ever be zero.
func (m *Metrics) RuleCollectors() []prometheus.Collector {
	return []prometheus.Collector{m.verdicts, m.ruleHits, m.stages}
}
