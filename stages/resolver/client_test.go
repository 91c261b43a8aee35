package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

const testZone = `
example.org.        3600 IN SOA ns.example.org. host.example.org. 1 7200 3600 86400 60
example.org.         300 IN A     192.0.2.1
example.org.         300 IN AAAA  2001:db8::1
example.org.         300 IN TXT   "v=spf1 " "-all"
www.example.org.     120 IN CNAME example.org.
alias.example.org.   300 IN CNAME gone.example.org.
mail.example.org.    300 IN MX    10 mx.example.org.
nomx.example.org.    300 IN MX    0 .
nosoa.test.          300 IN A     192.0.2.9
`

func loadZone(t testing.TB, text string) *resolver.Zone {
	t.Helper()
	z, err := resolver.ParseZone(text)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func newClient(t testing.TB, opts resolver.ClientOptions, servers ...string) *resolver.Client {
	t.Helper()
	opts.Servers = servers
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	c, err := resolver.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientAnswers(t *testing.T) {
	srv := dnstest.StartServer(t, loadZone(t, testZone))
	c := newClient(t, resolver.ClientOptions{}, srv.Addr)
	tests := []struct {
		name   string
		qtype  uint16
		status resolver.Status
		want   string // first record's data
	}{
		{"example.org", dns.TypeA, resolver.Success, "192.0.2.1"},
		{"EXAMPLE.org.", dns.TypeAAAA, resolver.Success, "2001:db8::1"},
		{"www.example.org", dns.TypeA, resolver.Success, "192.0.2.1"},
		{"example.org", dns.TypeMX, resolver.NoData, ""},
		{"missing.example.org", dns.TypeA, resolver.NXDomain, ""},
		{"alias.example.org", dns.TypeA, resolver.NXDomain, ""},
		{"mail.example.org", dns.TypeMX, resolver.Success, "10 mx.example.org."},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s", tc.name, dns.TypeToString[tc.qtype]), func(t *testing.T) {
			a, err := c.Query(context.Background(), tc.name, tc.qtype)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != tc.status {
				t.Fatalf("status %v, want %v", a.Status, tc.status)
			}
			got := ""
			if len(a.Records) > 0 {
				rr := a.Records[0].String()
				got = rr[len(a.Records[0].Header().String()):]
			}
			if got != tc.want {
				t.Fatalf("record %q, want %q", got, tc.want)
			}
		})
	}
}

// bigZone has a TXT RRset too large for a 1232-byte UDP answer.
func bigZone(t testing.TB) *resolver.Zone {
	var b strings.Builder
	b.WriteString("big.example. 300 IN SOA ns.big.example. h.big.example. 1 1 1 1 60\n")
	for i := range 40 {
		fmt.Fprintf(&b, "big.example. 300 IN TXT \"record %02d %s\"\n", i, strings.Repeat("x", 60))
	}
	return loadZone(t, b.String())
}

func TestTruncationFallsBackToTCP(t *testing.T) {
	srv := dnstest.StartServer(t, bigZone(t))
	c := newClient(t, resolver.ClientOptions{}, srv.Addr)
	a, err := c.Query(context.Background(), "big.example", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Records) != 40 {
		t.Fatalf("got %d records, want all 40", len(a.Records))
	}
	if srv.TCPQueries() != 1 || srv.Queries() != 2 {
		t.Fatalf("queries: %d total, %d over TCP; want 2 and 1", srv.Queries(), srv.TCPQueries())
	}
	// A small answer stays on UDP.
	if _, err := c.Query(context.Background(), "big.example", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	if srv.TCPQueries() != 1 {
		t.Fatalf("small answer went over TCP")
	}
}

func TestCacheHit(t *testing.T) {
	srv := dnstest.StartServer(t, loadZone(t, testZone))
	c := newClient(t, resolver.ClientOptions{}, srv.Addr)
	ctx := context.Background()
	for i := range 3 {
		a, err := c.Query(ctx, "Example.ORG", dns.TypeA)
		if err != nil || a.Status != resolver.Success {
			t.Fatalf("query %d: %v %v", i, a, err)
		}
		if a.TTL > 300*time.Second || a.TTL < 290*time.Second {
			t.Fatalf("TTL %v, want about 300s", a.TTL)
		}
	}
	if n := srv.Queries(); n != 1 {
		t.Fatalf("server got %d queries, want 1 (then cache hits)", n)
	}
	if _, err := c.Query(ctx, "example.org", dns.TypeAAAA); err != nil {
		t.Fatal(err)
	}
	if n := srv.Queries(); n != 2 {
		t.Fatalf("another type must be asked: %d queries", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	srv := dnstest.StartServer(t, loadZone(t, testZone))
	c := newClient(t, resolver.ClientOptions{CacheSize: -1}, srv.Addr)
	for range 2 {
		if _, err := c.Query(context.Background(), "example.org", dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Queries() != 2 {
		t.Fatalf("queries %d, want 2 with the cache off", srv.Queries())
	}
}

func TestSingleFlight(t *testing.T) {
	srv := dnstest.StartServer(t, loadZone(t, testZone))
	srv.SetDelay(100 * time.Millisecond)
	c := newClient(t, resolver.ClientOptions{}, srv.Addr)
	const n = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := c.Query(context.Background(), "example.org", dns.TypeTXT)
			if err == nil && a.Status != resolver.Success {
				err = fmt.Errorf("status %v", a.Status)
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.QueriesFor("example.org"); got != 1 {
		t.Fatalf("%d concurrent identical queries sent %d upstream, want 1", n, got)
	}
	if st := c.Stats(); st.Queries != n || st.Upstream != 1 || st.Shared+st.Hits != n-1 || st.Cached != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTimeout(t *testing.T) {
	z := loadZone(t, testZone)
	z.Fail("slow.example.org", resolver.ErrTimeout)
	srv := dnstest.StartServer(t, z)
	c := newClient(t, resolver.ClientOptions{Timeout: 100 * time.Millisecond, Retries: 1}, srv.Addr)
	_, err := c.Query(context.Background(), "slow.example.org", dns.TypeA)
	if !errors.Is(err, resolver.ErrTimeout) || !resolver.IsTemporary(err) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if got := srv.QueriesFor("slow.example.org"); got != 2 {
		t.Fatalf("server got %d attempts, want 2 (1 retry)", got)
	}
	// A failure is not cached.
	_, _ = c.Query(context.Background(), "slow.example.org", dns.TypeA)
	if got := srv.QueriesFor("slow.example.org"); got != 4 {
		t.Fatalf("failure was cached: %d attempts", got)
	}
	if st := c.Stats(); st.Failures != 2 || st.Upstream != 4 || st.Cached != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCallerContextEnds(t *testing.T) {
	z := loadZone(t, testZone)
	z.Fail("slow.example.org", resolver.ErrTimeout)
	srv := dnstest.StartServer(t, z)
	c := newClient(t, resolver.ClientOptions{Timeout: time.Minute}, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Query(ctx, "slow.example.org", dns.TypeA); !errors.Is(err, resolver.ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestServFail(t *testing.T) {
	z := loadZone(t, testZone)
	z.Fail("broken.example.org", resolver.ErrServFail)
	srv := dnstest.StartServer(t, z)
	c := newClient(t, resolver.ClientOptions{Retries: -1}, srv.Addr)
	_, err := c.Query(context.Background(), "broken.example.org", dns.TypeTXT)
	if !errors.Is(err, resolver.ErrServFail) || errors.Is(err, resolver.ErrTimeout) {
		t.Fatalf("err %v, want ErrServFail", err)
	}
}

func TestRetryNextServer(t *testing.T) {
	dead := loadZone(t, testZone)
	dead.Fail("example.org", resolver.ErrServFail)
	bad := dnstest.StartServer(t, dead)
	good := dnstest.StartServer(t, loadZone(t, testZone))
	c := newClient(t, resolver.ClientOptions{Retries: 1}, bad.Addr, good.Addr)
	for i := range 2 {
		a, err := c.Query(context.Background(), "example.org", dns.TypeA)
		if err != nil || a.Status != resolver.Success {
			t.Fatalf("query %d: %v, %v", i, a, err)
		}
		c = newClient(t, resolver.ClientOptions{Retries: 1}, good.Addr, bad.Addr)
	}
}

func TestInFlightLimit(t *testing.T) {
	srv := dnstest.StartServer(t, loadZone(t, testZone))
	srv.SetDelay(30 * time.Millisecond)
	c := newClient(t, resolver.ClientOptions{MaxInFlight: 2}, srv.Addr)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Query(context.Background(), fmt.Sprintf("n%d.example.org", i), dns.TypeA)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if srv.Queries() != 10 {
		t.Fatalf("server got %d queries, want 10", srv.Queries())
	}
	if m := srv.MaxInFlight(); m > 2 {
		t.Fatalf("server saw %d queries at once, limit is 2", m)
	}
}

func TestServersFromResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "# test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch example.org\noptions timeout:1\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := resolver.ServersFromResolvConf(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.53:53", "[2001:db8::53]:53"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("servers %v, want %v", got, want)
	}
	c, err := resolver.FromResolvConf(path)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if o.Timeout != resolver.DefaultTimeout || o.Retries != resolver.DefaultRetries ||
		o.MaxInFlight != resolver.DefaultMaxInFlight || o.CacheSize != resolver.DefaultCacheSize {
		t.Fatalf("defaults not applied: %+v", o)
	}
	empty := filepath.Join(t.TempDir(), "empty.conf")
	_ = os.WriteFile(empty, []byte("search example.org\n"), 0o644)
	if _, err := resolver.FromResolvConf(empty); err == nil {
		t.Fatal("resolv.conf without nameserver accepted")
	}
}

func TestServerPortDefault(t *testing.T) {
	c := newClient(t, resolver.ClientOptions{}, "192.0.2.1", "2001:db8::1", "[2001:db8::2]:5353")
	want := []string{"192.0.2.1:53", "[2001:db8::1]:53", "[2001:db8::2]:5353"}
	if got := c.Options().Servers; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("servers %v, want %v", got, want)
	}
}
