package main

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/stages/bayes"
)

// bayesMetrics is the Junk trainer, counting what users' moves teach, and
// the collector of the Bayes model's size and learns for /metrics. The
// learns the stage makes itself (autolearn) are counted by the model's
// autolearner, read at each scrape, so that a reload of the rules that
// replaces the autolearner keeps the counts.
type bayesMetrics struct {
	bayes.Trainer
	moved     [2]atomic.Uint64 // learnt from a move into (spam) or out of (ham) Junk
	unlearned atomic.Uint64    // a moved message's earlier class taken back
}

// Learn implements store.Trainer.
func (b *bayesMetrics) Learn(raw []byte, spam bool) error {
	if err := b.Trainer.Learn(raw, spam); err != nil {
		return err
	}
	b.moved[classIndex(spam)].Add(1)
	return nil
}

// Unlearn implements store.Trainer.
func (b *bayesMetrics) Unlearn(raw []byte, spam bool) error {
	if err := b.Trainer.Unlearn(raw, spam); err != nil {
		return err
	}
	b.unlearned.Add(1)
	return nil
}

func classIndex(spam bool) int {
	if spam {
		return 0
	}
	return 1
}

// Learn sources (the source label).
const (
	learnJunkMove  = "junk_move" // a user moved the message into or out of Junk (IMAP, Sieve)
	learnAutolearn = "autolearn" // the stage learnt its own confident verdict
)

var (
	bayesMessagesDesc = prometheus.NewDesc("sluice_bayes_messages",
		"Messages the Bayes model has learnt, by class (spam, ham).", []string{"class"}, nil)
	bayesTokensDesc = prometheus.NewDesc("sluice_bayes_tokens",
		"Distinct tokens the Bayes model has seen, by class (spam, ham).", []string{"class"}, nil)
	bayesLearnsDesc = prometheus.NewDesc("sluice_bayes_learns_total",
		"Messages learnt by the Bayes model, by class and source (junk_move: a user moved it into or out of Junk; autolearn: a confident verdict).",
		[]string{"class", "source"}, nil)
	bayesUnlearnsDesc = prometheus.NewDesc("sluice_bayes_unlearns_total",
		"Learns taken back, by source (junk_move: the message was learnt as the other class before; autolearn_rollback: a user corrected an autolearn).",
		[]string{"source"}, nil)
)

// Describe implements prometheus.Collector.
func (b *bayesMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{bayesMessagesDesc, bayesTokensDesc, bayesLearnsDesc, bayesUnlearnsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. The model's size is left out
// when it cannot be read (Redis out of reach): no figure beats a wrong one.
func (b *bayesMetrics) Collect(ch chan<- prometheus.Metric) {
	if st, err := b.Model.Stats(); err == nil {
		ch <- prometheus.MustNewConstMetric(bayesMessagesDesc, prometheus.GaugeValue, float64(st.Spam), "spam")
		ch <- prometheus.MustNewConstMetric(bayesMessagesDesc, prometheus.GaugeValue, float64(st.Ham), "ham")
		ch <- prometheus.MustNewConstMetric(bayesTokensDesc, prometheus.GaugeValue, float64(st.SpamTokens), "spam")
		ch <- prometheus.MustNewConstMetric(bayesTokensDesc, prometheus.GaugeValue, float64(st.HamTokens), "ham")
	}
	var auto bayes.AutolearnCounts
	if a := b.Model.Autolearner(); a != nil {
		auto = a.Counts()
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(bayesLearnsDesc, b.moved[0].Load(), "spam", learnJunkMove)
	counter(bayesLearnsDesc, b.moved[1].Load(), "ham", learnJunkMove)
	counter(bayesLearnsDesc, auto.Spam, "spam", learnAutolearn)
	counter(bayesLearnsDesc, auto.Ham, "ham", learnAutolearn)
	counter(bayesUnlearnsDesc, b.unlearned.Load(), learnJunkMove)
	counter(bayesUnlearnsDesc, auto.RolledBack, "autolearn_rollback")
}
