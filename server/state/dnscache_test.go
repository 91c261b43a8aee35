package state

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sluicemail/sluice/server/state/redistest"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// TestDNSCacheSharedByNodes: two nodes' resolvers on one real Redis. What
// node A asked upstream, node B gets from Redis without asking upstream,
// with the time left, and negative answers too; with Redis down B asks
// upstream at once instead of failing or waiting, and shares again once
// Redis is back.
func TestDNSCacheSharedByNodes(t *testing.T) {
	zone, err := resolver.ParseZone("$ORIGIN example.\n$TTL 300\n@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300\na IN A 192.0.2.1\nb IN A 192.0.2.2\nc IN A 192.0.2.3\nd IN A 192.0.2.4\n")
	if err != nil {
		t.Fatal(err)
	}
	upstream := dnstest.StartServer(t, zone)
	srv := redistest.Start(t)
	r := OpenRedis(RedisOptions{Addr: srv.Addr, Timeout: time.Second})
	defer r.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	node := func() *resolver.Client {
		c, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{upstream.Addr}})
		if err != nil {
			t.Fatal(err)
		}
		c.ShareCache(r.DNSCache(), 200*time.Millisecond, quiet)
		return c
	}
	a, b := node(), node()
	ctx := context.Background()
	query := func(c *resolver.Client, name string) *resolver.Answer {
		t.Helper()
		ans, err := c.Query(ctx, name, dns.TypeA)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return ans
	}

	first := query(a, "a.example")
	if first.Status != resolver.Success || len(first.Records) != 1 || upstream.QueriesFor("a.example.") != 1 {
		t.Fatalf("node A: %+v, %d upstream queries", first, upstream.QueriesFor("a.example."))
	}
	// A stores it in Redis after its callers have their answer.
	waitKey(t, r, "dns:A:a.example.")
	got := query(b, "a.example")
	if got.Status != resolver.Success || len(got.Records) != 1 || got.Records[0].(*dns.A).A.String() != "192.0.2.1" ||
		got.TTL <= 0 || got.TTL > 300*time.Second {
		t.Fatalf("node B's answer from Redis: %+v", got)
	}
	if n := upstream.QueriesFor("a.example."); n != 1 || b.Stats().SharedHits != 1 {
		t.Fatalf("node B asked upstream: %d queries, %d shared hits", n, b.Stats().SharedHits)
	}

	// A negative answer is shared too.
	if ans := query(a, "nx.example"); ans.Status != resolver.NXDomain {
		t.Fatalf("nx: %+v", ans)
	}
	waitKey(t, r, "dns:A:nx.example.")
	if ans := query(b, "nx.example"); ans.Status != resolver.NXDomain || upstream.QueriesFor("nx.example.") != 1 {
		t.Fatalf("nx on B: %+v, %d upstream", ans, upstream.QueriesFor("nx.example."))
	}

	// Redis down: B answers from upstream, once the shared cache's short
	// timeout has passed, and then skips Redis for a while.
	srv.Stop()
	start := time.Now()
	if ans := query(b, "b.example"); ans.Status != resolver.Success {
		t.Fatalf("with Redis down: %+v", ans)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("with Redis down a query took %v", took)
	}
	if b.Stats().SharedErrors == 0 || upstream.QueriesFor("b.example.") != 1 {
		t.Errorf("with Redis down: %d shared errors, %d upstream", b.Stats().SharedErrors, upstream.QueriesFor("b.example."))
	}
	errs := b.Stats().SharedErrors
	query(b, "c.example")
	if b.Stats().SharedErrors != errs {
		t.Error("right after a failure the shared cache was asked again")
	}

	// Redis back: a node that has not failed shares again.
	srv.Restart()
	c := node()
	query(c, "d.example")
	waitKey(t, r, "dns:A:d.example.")
	if query(node(), "d.example"); upstream.QueriesFor("d.example.") != 1 {
		t.Errorf("after Redis came back: %d upstream queries for d", upstream.QueriesFor("d.example."))
	}
}

// waitKey waits until the shared cache holds key (a node stores it after
// answering its callers).
func waitKey(t *testing.T, r *Redis, key string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _, err := r.DNSCache().Get(context.Background(), key); err == nil && b != nil {
			return
		}
	}
	t.Fatalf("%s never reached Redis", key)
}
