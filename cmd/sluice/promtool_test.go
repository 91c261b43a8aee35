package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPromtool runs Prometheus's own checker (promtool, from Debian's
// prometheus package, which .ci/run installs) on the example alert rules
// and on a live /metrics scrape, after some mail has gone through so that
// the labelled series exist. promlint in the other tests is the library's
// copy of the metrics check; this is the tool operators run.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool is not installed (Debian package prometheus): %v", err)
		}
		t.Skipf("promtool is not installed (Debian package prometheus)")
	}

	out, err := exec.Command(promtool, "check", "rules", "../../examples/monitoring/alerts.yml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}

	e := newE2E(t, e2eInbound)
	if err := e.send("s@example.org", "alice@example.net", "BUY NOW"); err == nil {
		t.Fatal("content rule did not refuse")
	}
	if err := e.send("friend@example.org", "alice@example.net", "hello"); err != nil {
		t.Fatal(err)
	}
	metrics := e.metrics()
	if !strings.Contains(metrics, "sluice_verdicts_total{") {
		t.Fatalf("the scrape has no verdicts:\n%.2000s", metrics)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
