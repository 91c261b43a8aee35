// Package verdicts keeps the recent verdicts of the SMTP server for the web
// console: a Source interface (list, get, subscribe) and Ring, an
// in-memory implementation holding the last N. A persistent verdict
// journal can implement Source too and take the ring's place.
package verdicts

import (
	"context"
	"strings"
	"time"
)

// Verdict is one decision of the rules about one message (or one refused
// recipient), as the console shows it.
type Verdict struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	QueueID  string    `json:"queue_id,omitempty"`
	Listener string    `json:"listener"`
	Pipeline string    `json:"pipeline"`
	Phase    string    `json:"phase"`
	IP       string    `json:"ip"`
	HELO     string    `json:"helo"`
	User     string    `json:"user,omitempty"`
	MailFrom string    `json:"mail_from"`
	Rcpt     []string  `json:"rcpt"`
	From     string    `json:"from,omitempty"`    // the From header, as sent
	Subject  string    `json:"subject,omitempty"` // decoded
	Action   string    `json:"action"`
	Reply    string    `json:"reply,omitempty"`
	Score    float64   `json:"score"`
	Rules    []Rule    `json:"rules"`
	Stages   []string  `json:"stages,omitempty"`
	Err      string    `json:"error,omitempty"`
	// Facts are the namespaces of the facts the rules read, as plain
	// values (engine.FactsMap).
	Facts map[string]any `json:"facts,omitempty"`
}

// Rule is a rule that fired.
type Rule struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Action string  `json:"action,omitempty"`
}

// Filter selects verdicts: Action exact, Query a case-insensitive part of
// an address (envelope or From), the client IP or the Subject.
type Filter struct {
	Action string
	Query  string
}

// Match reports whether v passes the filter.
func (f Filter) Match(v *Verdict) bool {
	if f.Action != "" && v.Action != f.Action {
		return false
	}
	q := strings.ToLower(strings.TrimSpace(f.Query))
	if q == "" {
		return true
	}
	for _, s := range append([]string{v.IP, v.MailFrom, v.From, v.Subject, v.User}, v.Rcpt...) {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// Source is where the console reads verdicts.
type Source interface {
	// List returns up to limit verdicts passing f, newest first.
	List(f Filter, limit int) []Verdict
	// Get returns one verdict by ID.
	Get(id string) (Verdict, bool)
	// Subscribe delivers each new verdict until ctx ends; a subscriber
	// that does not keep up misses verdicts rather than slowing the
	// server.
	Subscribe(ctx context.Context) <-chan Verdict
}
