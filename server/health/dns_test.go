package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// A real Client's exchanges with a real (in-process) server feed the
// tracker: answers keep it healthy, a stopped server degrades it, and the
// failures age out of the window once the server is back.
func TestDNSTracksClient(t *testing.T) {
	zone, err := resolver.ParseZone("$ORIGIN .\n$TTL 300\n. NS a.root.test.\nexample.org. TXT \"hello\"\n")
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.StartServer(t, zone)
	const window = 300 * time.Millisecond
	var d *DNS
	c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{srv.Addr}, Timeout: 200 * time.Millisecond,
		CacheSize: -1, Observe: func(x resolver.Attempt) { d.Observe(x) }})
	if err != nil {
		t.Fatal(err)
	}
	d = NewDNS(DNSOptions{Window: window, Probe: c.Probe})
	ctx := context.Background()
	if err := c.Probe(ctx); err != nil || d.Err() != nil {
		t.Fatalf("probe %v, health %v", err, d.Err())
	}
	srv.Stop()
	if _, err := c.Query(ctx, "example.org.", 16); err == nil {
		t.Fatal("query to a stopped server succeeded")
	}
	if err := d.Err(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("health after failures: %v", err)
	}
	if !d.Degraded() || testutil.ToFloat64(d.state) != 1 {
		t.Error("not degraded")
	}
	if n := testutil.ToFloat64(d.failures.WithLabelValues("network")); n != 3 {
		t.Errorf("network failures counted: %v, want 3 (one query, two retries)", n)
	}
	srv.Restart(t)
	if err := c.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(window + 50*time.Millisecond)
	if err := c.Probe(ctx); err != nil || d.Err() != nil {
		t.Errorf("after the window: probe %v, health %v", err, d.Err())
	}
	if n := testutil.ToFloat64(d.queries.WithLabelValues("NS", "NOERROR")); n != 3 {
		t.Errorf("NS NOERROR exchanges: %v, want 3", n)
	}
	if problems, err := testutil.CollectAndLint(d); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

// One failure among many answers is not degradation.
func TestDNSRatio(t *testing.T) {
	d := NewDNS(DNSOptions{Window: time.Minute})
	for range 3 {
		d.Observe(resolver.Attempt{Type: "A", Rcode: "NOERROR"})
	}
	d.Observe(resolver.Attempt{Type: "A", Reason: "timeout", Err: errors.New("i/o timeout")})
	if err := d.Err(); err != nil {
		t.Errorf("1 of 4 failed: %v", err)
	}
	for range 3 {
		d.Observe(resolver.Attempt{Type: "A", Reason: "timeout", Err: errors.New("i/o timeout")})
	}
	if err := d.Err(); err == nil || !strings.Contains(err.Error(), "4 of 7") {
		t.Errorf("4 of 7 failed: %v", err)
	}
}
