package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The running rules' health and metrics, for `sluice serve` and
// `sluice milter` alike.

// rulesCollectors are the metrics of the rule set: its version and its
// reloads.
func (in *instance) rulesCollectors() []prometheus.Collector {
	return []prometheus.Collector{rulesVersion{in},
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_rules_reloads_total",
			Help: "Rule-set reloads that took effect."}, func() float64 { return float64(in.live.Reloads()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sluice_rules_reload_errors_total",
			Help: "Rule-set reloads refused (the running rules stayed)."}, func() float64 { return float64(in.live.Failures()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_rules_last_reload_ok",
			Help: "1 if the last reload of the rules succeeded, 0 if it was refused."}, func() float64 {
			if in.live.LastError() != "" {
				return 0
			}
			return 1
		}),
	}
}

// rulesHealth is /readyz's rules check: a refused reload is an error.
func (in *instance) rulesHealth() error {
	if e := in.live.LastError(); e != "" {
		return fmt.Errorf("the last reload of %s was refused, the previous rules still run: %s", in.live.Dir(), e)
	}
	return nil
}

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
