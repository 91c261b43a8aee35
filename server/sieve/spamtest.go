package sieve

import (
	"strconv"
)

// spamtest and spamtestplus (RFC 5235): how sure the server is that the
// message is spam, as "1" (not spam) to "10" (spam), or with :percent as
// "0" to "100"; "0" when the message was not tested. The certainty comes
// from the deliverer (Env.Spam), which maps sluice's verdict score and
// the Bayes probability onto it; the steps are Pigeonhole's (floor).

type spamTest struct {
	m       matcher
	percent bool
	keys    []string
}

func (t *spamTest) eval(r *run) (bool, error) {
	return r.match(t.m, []string{spamValue(r.env.Spam, t.percent)}, t.keys), nil
}

// spamValue maps a certainty (nil: untested) to the test's value.
func spamValue(spam *float64, percent bool) string {
	if spam == nil {
		return "0"
	}
	f := min(max(*spam, 0), 1)
	if percent {
		return strconv.Itoa(int(f * 100))
	}
	return strconv.Itoa(1 + int(f*9))
}

func init() {
	tests["spamtest"] = testSpec{args: argSpec{
		tags: append(append([]tagSpec{}, matchTags...), tagSpec{name: "percent", ext: "spamtestplus"}),
		pos:  []valKind{valStrings},
	}, build: func(c *compiler, b *bound) (test, error) {
		if !c.has("spamtest") && !c.has("spamtestplus") {
			return nil, errorf(b.pos, "test 'spamtest' needs require \"spamtest\"")
		}
		m, err := c.matcher(b)
		return &spamTest{m: m, percent: b.has("percent"), keys: b.args[0].Strs}, err
	}}
}
