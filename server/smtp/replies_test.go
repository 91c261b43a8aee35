package smtp

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every reply a real client gets is counted by class: the rule's 554 at
// the end of DATA as 5xx, the greeting and the 250s as 2xx, the 354 as
// 3xx; with soft bounce the same refusal is counted as the 4xx it became.
func TestRepliesCountedByClass(t *testing.T) {
	for _, soft := range []bool{false, true} {
		h := newHarness(t, harnessOpts{modify: func(o *Options) { o.SoftBounce = soft }})
		if err := h.send("friend@example.org", []string{"alice@example.net"}, "Subject: hello\r\n\r\nhi\r\n"); err != nil {
			t.Fatal(err)
		}
		if err := h.send("friend@example.org", []string{"alice@example.net"}, "Subject: BUY NOW\r\n\r\nhi\r\n"); err == nil {
			t.Fatal("BUY NOW accepted")
		}
		m := h.srv.Metrics()
		count := func(class string) float64 { return testutil.ToFloat64(m.replies.WithLabelValues(MX, class)) }
		refused, other := "5xx", "4xx"
		if soft {
			refused, other = "4xx", "5xx"
		}
		if count(refused) != 1 || count(other) != 0 || count("2xx") < 8 || count("3xx") != 2 {
			t.Errorf("soft bounce %v: 2xx %v, 3xx %v, 4xx %v, 5xx %v", soft, count("2xx"), count("3xx"), count("4xx"), count("5xx"))
		}
		if probs, err := testutil.CollectAndLint(m, "sluice_smtp_replies_total"); err != nil || len(probs) > 0 {
			t.Errorf("lint: %v %v", err, probs)
		}
	}
}
