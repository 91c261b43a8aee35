package dnstest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

// The server is checked with miekg/dns's own client, independent of our
// resolver.
func TestServer(t *testing.T) {
	var b strings.Builder
	b.WriteString("ex. 300 IN SOA ns.ex. h.ex. 1 1 1 1 30\nwww.ex. 300 IN CNAME ex.\nex. 300 IN A 192.0.2.1\n")
	for i := range 30 {
		fmt.Fprintf(&b, "big.ex. 300 IN TXT \"%02d %s\"\n", i, strings.Repeat("y", 40))
	}
	z, err := resolver.ParseZone(b.String())
	if err != nil {
		t.Fatal(err)
	}
	z.Fail("drop.ex", resolver.ErrTimeout)
	z.Fail("fail.ex", resolver.ErrServFail)
	srv := dnstest.StartServer(t, z)
	ask := func(net, name string, qtype uint16, edns bool) (*dns.Msg, error) {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if edns {
			m.SetEdns0(1232, false)
		}
		c := &dns.Client{Net: net, Timeout: 300 * time.Millisecond}
		r, _, err := c.Exchange(m, srv.Addr)
		return r, err
	}
	r, err := ask("udp", "www.ex.", dns.TypeA, false)
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || !r.Authoritative {
		t.Fatalf("CNAME chain: %v %v", r, err)
	}
	r, err = ask("udp", "big.ex.", dns.TypeTXT, false)
	if r != nil {
		r.Compress = true // as sent
	}
	if err != nil || !r.Truncated || r.Len() > 512 || len(r.Answer) == 0 {
		t.Fatalf("UDP without EDNS0 must truncate to 512: %v %v", r, err)
	}
	r, err = ask("tcp", "big.ex.", dns.TypeTXT, false)
	if err != nil || r.Truncated || len(r.Answer) != 30 {
		t.Fatalf("TCP: %v %v", r, err)
	}
	r, err = ask("udp", "nope.ex.", dns.TypeA, true)
	if err != nil || r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.IsEdns0() == nil {
		t.Fatalf("NXDOMAIN with SOA: %v %v", r, err)
	}
	r, err = ask("udp", "fail.ex.", dns.TypeA, false)
	if err != nil || r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("SERVFAIL: %v %v", r, err)
	}
	if _, err = ask("udp", "drop.ex.", dns.TypeA, false); err == nil {
		t.Fatal("a dropped query was answered")
	}
	if srv.Queries() != 6 || srv.TCPQueries() != 1 || srv.QueriesFor("BIG.ex") != 2 {
		t.Fatalf("counts: %d total, %d TCP, %d big", srv.Queries(), srv.TCPQueries(), srv.QueriesFor("big.ex"))
	}
}
