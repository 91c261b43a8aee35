package journal

import (
	"strings"
	"time"
)

// Query selects records: every field that is set must match. Addresses
// and IDs compare without regard to case.
type Query struct {
	// Key is a journal ID, an SMTP session ID (the id in our Received
	// field) or a Message-ID, with or without angle brackets.
	Key       string
	From      string // MAIL FROM
	To        string // one of the recipients, or the refused one
	IP        string // the client IP
	Action    string
	Direction string // in or out
	Since     time.Time
	Until     time.Time // exclusive
	// Kind selects records of this kind only: "" (the default) for
	// verdicts, "shadow" for the shadow rules' disagreements.
	Kind string
}

// Match reports whether r is selected.
func (q *Query) Match(r *Record) bool {
	switch {
	case r.Kind != q.Kind:
		return false
	case !q.Since.IsZero() && r.Time.Before(q.Since):
		return false
	case !q.Until.IsZero() && !r.Time.Before(q.Until):
		return false
	case q.Action != "" && r.Action != q.Action:
		return false
	case q.Direction != "" && r.Direction != q.Direction:
		return false
	case q.IP != "" && r.Conn.IP != q.IP:
		return false
	case q.From != "" && !strings.EqualFold(r.Envelope.From, q.From):
		return false
	case q.To != "" && !hasAddr(r.Envelope, q.To):
		return false
	}
	if q.Key == "" {
		return true
	}
	k := strings.Trim(strings.TrimSpace(q.Key), "<>")
	return strings.EqualFold(r.ID, k) || strings.EqualFold(r.Session, k) || (r.MessageID != "" && r.MessageID == k)
}

func hasAddr(e Envelope, addr string) bool {
	if strings.EqualFold(e.Refused, addr) {
		return true
	}
	for _, r := range e.Rcpt {
		if strings.EqualFold(r, addr) {
			return true
		}
	}
	return false
}

// Find returns the records of the journal in dir that q selects, oldest
// first.
func Find(dir string, q Query, warn func(string)) ([]*Record, error) {
	var out []*Record
	err := Scan(dir, func(r *Record) error {
		if q.Match(r) {
			out = append(out, r)
		}
		return nil
	}, warn)
	return out, err
}
