package sieve

import (
	"strings"
)

// The duplicate test (RFC 7352): whether a message with the same
// Message-ID (or :header field, or :uniqueid) under the same :handle was
// seen before within the period. The test only asks; the deliverer
// records the message (a "track duplicate" action) once the script has
// run, as Pigeonhole does, so a failed run tracks nothing.

const (
	duplicateDefault = 7 * day // Pigeonhole's sieve_duplicate_max_period
	duplicateMaximum = 7 * day
)

type duplicateTest struct {
	handle, header, uniqueid string
	hasUnique                bool
	seconds                  int64
	last                     bool
}

func (t *duplicateTest) eval(r *run) (bool, error) {
	var value string
	if t.hasUnique {
		value = r.expand(t.uniqueid)
	} else {
		vals := r.env.Msg.headerValues(r.expand(t.header))
		if len(vals) == 0 || vals[0] == "" {
			return false, nil
		}
		value = vals[0]
	}
	handle := r.expand(t.handle)
	key := handle + "\x00" + value
	seen := r.env.Duplicate != nil && r.env.Duplicate(key)
	return seen, r.add(Action{Kind: ActDuplicate, Duplicate: &Duplicate{
		Key: key, Handle: handle, Seconds: t.seconds, Last: t.last}})
}

// Duplicate is a message the deliverer should remember for the
// duplicate test of later messages.
type Duplicate struct {
	Key     string // handle and value
	Handle  string
	Seconds int64
	Last    bool // refresh the period when seen again
}

func init() {
	tests["duplicate"] = testSpec{ext: "duplicate", args: argSpec{tags: []tagSpec{
		{name: "handle", val: valString},
		{name: "header", val: valString, group: "id"},
		{name: "uniqueid", val: valString, group: "id"},
		{name: "seconds", val: valNumber},
		{name: "last"},
	}}, build: func(c *compiler, b *bound) (test, error) {
		t := &duplicateTest{handle: b.str("handle"), header: "Message-ID", last: b.has("last"), seconds: duplicateDefault}
		if h, ok := b.tags["header"]; ok {
			t.header = h.Strs[0]
			if !(c.has("variables") && strings.Contains(t.header, "${")) && !validFieldName(t.header) {
				return nil, errorf(h.Pos, "duplicate: invalid header name '%s'", t.header)
			}
		}
		if u, ok := b.tags["uniqueid"]; ok {
			t.uniqueid, t.hasUnique = u.Strs[0], true
		}
		if s, ok := b.tags["seconds"]; ok {
			t.seconds = min(s.Num, duplicateMaximum)
		}
		return t, nil
	}}
}
