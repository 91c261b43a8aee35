package store

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// Users returns the addresses that have a Maildir under the store, sorted.
func (s *Store) Users() ([]string, error) {
	domains, err := os.ReadDir(s.root)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, d := range domains {
		if !d.IsDir() {
			continue
		}
		locals, err := os.ReadDir(filepath.Join(s.root, d.Name()))
		if err != nil {
			return nil, err
		}
		for _, l := range locals {
			user := l.Name() + "@" + d.Name()
			if _, err := userPath(user); err == nil && l.IsDir() {
				users = append(users, user)
			}
		}
	}
	sort.Strings(users)
	return users, nil
}

var (
	usageDesc = prometheus.NewDesc("sluice_mailbox_usage_bytes", "Bytes stored in all mailboxes of a user.", []string{"user"}, nil)
	quotaDesc = prometheus.NewDesc("sluice_mailbox_quota_bytes", "Storage limit of a user (0: none).", []string{"user"}, nil)
)

// Describe implements prometheus.Collector: each user's storage use and
// limit, for the admin listener's /metrics.
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	ch <- usageDesc
	ch <- quotaDesc
}

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	users, err := s.Users()
	if err != nil {
		s.log.Warn("store: metrics", "err", err)
		return
	}
	for _, u := range users {
		if n, err := s.Usage(u); err == nil {
			ch <- prometheus.MustNewConstMetric(usageDesc, prometheus.GaugeValue, float64(n), u)
		}
		ch <- prometheus.MustNewConstMetric(quotaDesc, prometheus.GaugeValue, float64(s.Limit(u)), u)
	}
}
