package queue

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// counts are what the queue did since it was opened.
type counts struct {
	delivered, failed, deferred, dsns atomic.Int64
}

// finished counts a message that left the queue: every recipient
// delivered, or some of them failed for good.
func (c *counts) finished(ok bool) {
	if ok {
		c.delivered.Add(1)
	} else {
		c.failed.Add(1)
	}
}

var (
	messagesDesc = prometheus.NewDesc("sluice_queue_messages", "Messages in the queue, not yet delivered to every recipient.", nil, nil)
	deferredDesc = prometheus.NewDesc("sluice_queue_deferred_messages", "Queued messages of which at least one attempt failed.", nil, nil)
	oldestDesc   = prometheus.NewDesc("sluice_queue_oldest_message_age_seconds", "Age of the oldest queued message (0 when empty).", nil, nil)
	spoolDesc    = prometheus.NewDesc("sluice_queue_spool_bytes", "Size of the spool files.", nil, nil)
	attemptsDesc = prometheus.NewDesc("sluice_queue_deliveries_total",
		"Delivery outcomes: delivered (every recipient), failed (some recipient for good), deferred (an attempt to retry).", []string{"result"}, nil)
	dsnsDesc = prometheus.NewDesc("sluice_queue_dsns_total", "Delivery status notifications (bounces) queued.", nil, nil)
)

// Describe implements prometheus.Collector.
func (q *Queue) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{messagesDesc, deferredDesc, oldestDesc, spoolDesc, attemptsDesc, dsnsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (q *Queue) Collect(ch chan<- prometheus.Metric) {
	st := q.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	gauge(messagesDesc, float64(st.Messages))
	gauge(deferredDesc, float64(st.Deferred))
	gauge(spoolDesc, float64(st.SpoolBytes))
	gauge(oldestDesc, q.OldestAge().Seconds())
	for _, r := range []struct {
		result string
		n      *atomic.Int64
	}{{"delivered", &q.counts.delivered}, {"failed", &q.counts.failed}, {"deferred", &q.counts.deferred}} {
		ch <- prometheus.MustNewConstMetric(attemptsDesc, prometheus.CounterValue, float64(r.n.Load()), r.result)
	}
	ch <- prometheus.MustNewConstMetric(dsnsDesc, prometheus.CounterValue, float64(q.counts.dsns.Load()))
}
