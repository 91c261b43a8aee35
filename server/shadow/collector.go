package shadow

import "github.com/prometheus/client_golang/prometheus"

var (
	disagreementsDesc = prometheus.NewDesc("sluice_shadow_disagreements_total",
		"Messages on which the shadow rule set's action differs from the live one.", []string{"live", "shadow"}, nil)
	evaluatedDesc = prometheus.NewDesc("sluice_shadow_evaluated_total",
		"Messages the shadow rule set evaluated.", nil, nil)
	skippedDesc = prometheus.NewDesc("sluice_shadow_skipped_total",
		"Messages the shadow rule set left out because every evaluation slot was busy.", nil, nil)
)

// Describe implements prometheus.Collector.
func (s *Shadow) Describe(ch chan<- *prometheus.Desc) {
	ch <- disagreementsDesc
	ch <- evaluatedDesc
	ch <- skippedDesc
}

// Collect implements prometheus.Collector.
func (s *Shadow) Collect(ch chan<- prometheus.Metric) {
	for p, n := range s.Disagreements() {
		ch <- prometheus.MustNewConstMetric(disagreementsDesc, prometheus.CounterValue, float64(n), p.Live, p.Shadow)
	}
	ch <- prometheus.MustNewConstMetric(evaluatedDesc, prometheus.CounterValue, float64(s.Evaluated()))
	ch <- prometheus.MustNewConstMetric(skippedDesc, prometheus.CounterValue, float64(s.Skipped()))
}
