package engine

import "time"

// The arithmetic of rate limits and greylisting, shared by every State
// (the Redis one does the same in Lua), so that they agree.
//
// Rate limits are a sliding-window counter: time is cut into fixed windows
// of the limit's period; the count at an instant is the current window's
// count plus the previous window's count weighted by the share of it that
// the sliding window [now-period, now] still covers. It needs two counters
// per key, is exact when events are spread evenly over the previous window,
// and never lets through more than twice the limit in any period.

// RateCounter is one key's two windows.
type RateCounter struct {
	Window int64 // index of the current window (unix time / period)
	Cur    int64 // events in the current window
	Prev   int64 // events in the window before
}

// RateWindow returns the index of the window now falls in and the weight of
// the previous window (1 at the window's start, falling to 0 at its end).
func RateWindow(now time.Time, per time.Duration) (index int64, prevWeight float64) {
	ns := now.UnixNano()
	index = ns / int64(per)
	into := ns % int64(per)
	return index, 1 - float64(into)/float64(per)
}

// Hit counts n events at now against limit: it rolls the windows forward,
// then counts them unless that passes the limit.
func (c *RateCounter) Hit(now time.Time, limit Rate, n int) (count int, exceeded bool) {
	idx, w := RateWindow(now, limit.Per)
	switch {
	case idx == c.Window+1:
		c.Prev, c.Cur = c.Cur, 0
	case idx != c.Window:
		c.Prev, c.Cur = 0, 0
	}
	c.Window = idx
	est := int64(float64(c.Prev)*w) + c.Cur
	if est+int64(n) > int64(limit.Count) {
		return int(est), true
	}
	c.Cur += int64(n)
	return int(est) + n, false
}

// GreylistEntry is a triplet's record.
type GreylistEntry struct {
	First  time.Time // first try
	Passed bool      // retried after the delay and within the window
}

// DecideGreylist is greylisting's rule: entry is the triplet's record (nil
// when unseen or forgotten), netPasses how many triplets of the client's
// network passed. It returns the outcome, the record to keep, and whether
// the network gains a pass.
func DecideGreylist(entry *GreylistEntry, netPasses int, now time.Time, s GreylistSettings) (GreylistResult, GreylistEntry, bool) {
	switch {
	case s.PassAfter > 0 && netPasses >= s.PassAfter:
		if entry != nil {
			return GreylistResult{Pass: true, Reason: GreylistNetwork}, *entry, false
		}
		return GreylistResult{Pass: true, Reason: GreylistNetwork}, GreylistEntry{First: now, Passed: true}, false
	case entry != nil && entry.Passed:
		return GreylistResult{Pass: true, Reason: GreylistKnown}, *entry, false
	case entry != nil && now.Before(entry.First.Add(s.Delay)):
		return GreylistResult{RetryAfter: entry.First.Add(s.Delay).Sub(now), Reason: GreylistEarly}, *entry, false
	case entry != nil && !now.After(entry.First.Add(s.Window)):
		return GreylistResult{Pass: true, Reason: GreylistPassed}, GreylistEntry{First: entry.First, Passed: true}, true
	}
	return GreylistResult{RetryAfter: s.Delay, Reason: GreylistNew}, GreylistEntry{First: now}, false
}
