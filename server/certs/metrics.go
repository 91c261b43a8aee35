package certs

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	expiryDesc = prometheus.NewDesc("sluice_certificate_expiry_seconds",
		"Seconds until the served TLS certificate expires (negative once expired).", nil, nil)
	notAfterDesc = prometheus.NewDesc("sluice_certificate_not_after_timestamp_seconds",
		"When the served TLS certificate expires, as a Unix time.", nil, nil)
	warningsDesc = prometheus.NewDesc("sluice_certificate_expiry_warnings_total",
		"Warnings logged for a certificate close to expiry.", nil, nil)
)

// NotAfter returns the expiry of the certificate checked last (zero before
// the first check).
func (m *Manager) NotAfter() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.notAfter
}

// Check returns nil while the certificate is valid for more than
// ExpiryWarning, else why not and how to fix it (the /readyz check).
func (m *Manager) Check() error {
	na := m.NotAfter()
	if na.IsZero() {
		return nil // not checked yet: nothing known to be wrong
	}
	left := na.Sub(m.opts.Now())
	switch {
	case left <= 0:
		return fmt.Errorf("the TLS certificate expired on %s: %s", na.UTC().Format(time.DateOnly), m.fixHint())
	case left < ExpiryWarning:
		return fmt.Errorf("the TLS certificate expires in %d days (%s): %s", int(left.Hours()/24), na.UTC().Format(time.DateOnly), m.fixHint())
	}
	return nil
}

// Describe implements prometheus.Collector.
func (m *Manager) Describe(ch chan<- *prometheus.Desc) {
	ch <- expiryDesc
	ch <- notAfterDesc
	ch <- warningsDesc
}

// Collect implements prometheus.Collector: the expiry once it is known.
func (m *Manager) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	na, warnings := m.notAfter, m.warnings
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(warningsDesc, prometheus.CounterValue, float64(warnings))
	if na.IsZero() {
		return
	}
	ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, na.Sub(m.opts.Now()).Seconds())
	ch <- prometheus.MustNewConstMetric(notAfterDesc, prometheus.GaugeValue, float64(na.Unix()))
}
