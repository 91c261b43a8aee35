package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/journal"
)

// queryFlags are the flags that select journal records, shared by explain,
// replay and shadow report.
type queryFlags struct {
	from, to, ip, action, direction, since, until *string
}

func addQueryFlags(fs *flag.FlagSet, withDirection bool) *queryFlags {
	q := &queryFlags{
		from:   fs.String("from", "", "only messages with this MAIL FROM"),
		to:     fs.String("to", "", "only messages to this recipient"),
		ip:     fs.String("ip", "", "only messages from this client IP"),
		action: fs.String("action", "", "only messages given this action (accept, junk, reject...)"),
		since:  fs.String("since", "", "only messages from this time on: 2026-12-05, 2026-12-05T14:02, RFC 3339, or a duration back from now (24h)"),
		until:  fs.String("until", "", "only messages before this time (same forms as --since)"),
	}
	q.direction = new(string)
	if withDirection {
		q.direction = fs.String("direction", "", "only inbound (in) or outbound (out) messages")
	}
	return q
}

// query builds the journal query; key is the ID or Message-ID given.
func (q *queryFlags) query(key string, now time.Time) (journal.Query, error) {
	out := journal.Query{Key: key, From: *q.from, To: *q.to, IP: *q.ip, Action: *q.action, Direction: *q.direction}
	if d := out.Direction; d != "" && d != journal.In && d != journal.Out {
		return out, fmt.Errorf("--direction must be in or out, not %q", d)
	}
	var err error
	if out.Since, err = parseWhen(*q.since, now); err != nil {
		return out, fmt.Errorf("--since: %w", err)
	}
	if out.Until, err = parseWhen(*q.until, now); err != nil {
		return out, fmt.Errorf("--until: %w", err)
	}
	return out, nil
}

// parseWhen reads a time as an operator types it: a date, a date and
// time (local time unless it says otherwise), or a duration back from now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time (2026-12-05, 2026-12-05T14:02, RFC 3339, or a duration such as 24h)", s)
}
