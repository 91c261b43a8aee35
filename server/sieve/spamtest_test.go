package sieve

import "testing"

// The steps sieve-test gave for X-Spam-Score out of 15 (scores 0, 1,
// 7.5, 14, 15, 20, -3).
func TestSpamValue(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		spam           *float64
		value, percent string
	}{
		{nil, "0", "0"},
		{f(0), "1", "0"},
		{f(1.0 / 15), "1", "6"},
		{f(7.5 / 15), "5", "50"},
		{f(14.0 / 15), "9", "93"},
		{f(1), "10", "100"},
		{f(20.0 / 15), "10", "100"},
		{f(-3.0 / 15), "1", "0"},
	}
	for _, c := range cases {
		if v, p := spamValue(c.spam, false), spamValue(c.spam, true); v != c.value || p != c.percent {
			t.Errorf("%v: got %s/%s, want %s/%s", c.spam, v, p, c.value, c.percent)
		}
	}
}
