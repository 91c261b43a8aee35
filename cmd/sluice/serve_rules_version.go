package main

import "github.com/prometheus/client_golang/prometheus"

var rulesVersionDesc = prometheus.NewDesc("sluice_rules_version_info",
	"The rule set running: its content hash (the journal's ruleset field), always 1.", []string{"version"}, nil)

// rulesVersion exports the running rule set's content hash, so a graph
// shows when a change took effect and which records of the journal
// (field ruleset) it decided.
type rulesVersion struct{ in *instance }

func (r rulesVersion) Describe(ch chan<- *prometheus.Desc) { ch <- rulesVersionDesc }

func (r rulesVersion) Collect(ch chan<- prometheus.Metric) {
	if v := r.in.live.Current().Version(); v != "" {
		ch <- prometheus.MustNewConstMetric(rulesVersionDesc, prometheus.GaugeValue, 1, v)
	}
}
