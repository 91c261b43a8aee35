package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
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

// WriteMetrics writes each user's storage use and limit in the Prometheus
// text format, for the admin listener's /metrics.
func (s *Store) WriteMetrics(w io.Writer) {
	users, err := s.Users()
	if err != nil {
		s.log.Warn("store: metrics", "err", err)
		return
	}
	fmt.Fprintln(w, "# HELP sluice_mailbox_usage_bytes Bytes stored in all mailboxes of a user.")
	fmt.Fprintln(w, "# TYPE sluice_mailbox_usage_bytes gauge")
	for _, u := range users {
		if n, err := s.Usage(u); err == nil {
			fmt.Fprintf(w, "sluice_mailbox_usage_bytes{user=%q} %d\n", u, n)
		}
	}
	fmt.Fprintln(w, "# HELP sluice_mailbox_quota_bytes Storage limit of a user (0: none).")
	fmt.Fprintln(w, "# TYPE sluice_mailbox_quota_bytes gauge")
	for _, u := range users {
		fmt.Fprintf(w, "sluice_mailbox_quota_bytes{user=%q} %d\n", u, s.Limit(u))
	}
}
