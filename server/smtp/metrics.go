package smtp

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
)

// Metrics counts what the SMTP server did, for the admin /metrics page.
type Metrics struct {
	mu       sync.Mutex
	messages map[string]*atomic.Int64 // by listener and action

	RelayDenied  atomic.Int64 // RCPTs refused as relay attempts
	UnknownRcpt  atomic.Int64 // RCPTs refused for an unknown local user
	AuthFailures atomic.Int64 // failed AUTH attempts
	AuthSuccess  atomic.Int64 // successful AUTH
	BadData      atomic.Int64 // messages refused for malformed or oversized DATA
	Sessions     atomic.Int64 // SMTP sessions started
	Pregreet     atomic.Int64 // clients dropped for talking before the greeting
	NoStorage    atomic.Int64 // MAILs refused while the data file system was too full
}

// NewMetrics returns zeroed counters.
func NewMetrics() *Metrics { return &Metrics{messages: map[string]*atomic.Int64{}} }

// Message counts one message's final action on a listener.
func (m *Metrics) Message(listener, action string) {
	key := listener + "\x00" + action
	m.mu.Lock()
	c := m.messages[key]
	if c == nil {
		c = new(atomic.Int64)
		m.messages[key] = c
	}
	m.mu.Unlock()
	c.Add(1)
}

// Messages returns the count for a listener and action.
func (m *Metrics) Messages(listener, action string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.messages[listener+"\x00"+action]; c != nil {
		return c.Load()
	}
	return 0
}

// WriteText writes the counters in the Prometheus text format.
func (m *Metrics) WriteText(w io.Writer) {
	fmt.Fprintln(w, "# TYPE sluice_smtp_messages_total counter")
	m.mu.Lock()
	keys := make([]string, 0, len(m.messages))
	for k := range m.messages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var listener, action string
		for i := range k {
			if k[i] == 0 {
				listener, action = k[:i], k[i+1:]
			}
		}
		fmt.Fprintf(w, "sluice_smtp_messages_total{listener=%q,action=%q} %d\n", listener, action, m.messages[k].Load())
	}
	m.mu.Unlock()
	for _, c := range []struct {
		name string
		v    *atomic.Int64
	}{
		{"sluice_smtp_relay_denied_total", &m.RelayDenied},
		{"sluice_smtp_unknown_recipient_total", &m.UnknownRcpt},
		{"sluice_smtp_auth_failures_total", &m.AuthFailures},
		{"sluice_smtp_auth_success_total", &m.AuthSuccess},
		{"sluice_smtp_bad_data_total", &m.BadData},
		{"sluice_smtp_sessions_total", &m.Sessions},
		{"sluice_smtp_pregreet_total", &m.Pregreet},
		{"sluice_smtp_no_storage_total", &m.NoStorage},
	} {
		fmt.Fprintf(w, "# TYPE %s counter\n%s %d\n", c.name, c.name, c.v.Load())
	}
}
