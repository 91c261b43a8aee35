package mtasts_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/certs/certstest"
	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/server/mtasts/ststest"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"
)

const policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmax_age: 3600\r\n"

// swapZone is a resolver whose zone a test replaces (a record's id
// changing), as an operator's DNS would.
type swapZone struct{ z atomic.Pointer[resolver.Zone] }

func (s *swapZone) Query(ctx context.Context, name string, qtype uint16) (*resolver.Answer, error) {
	return s.z.Load().Query(ctx, name, qtype)
}

func (s *swapZone) set(t *testing.T, text string) {
	t.Helper()
	z, err := resolver.ParseZone(text)
	if err != nil {
		t.Fatal(err)
	}
	s.z.Store(z)
}

const zoneText = `
mta-sts.example.net. A 127.0.0.1
mta-sts.other.example. A 127.0.0.1
_mta-sts.other.example. TXT "v=STSv1; id=1"
`

// The policy is fetched over HTTPS (DNS through the real network path of
// our resolver), validated against the CA, cached while the id stays,
// fetched again when it changes, and kept when a later fetch fails.
func TestFetchAndCache(t *testing.T) {
	ca := certstest.NewCA(t)
	srv := ststest.Start(t, ca, "mta-sts.example.net")
	srv.Set("mta-sts.example.net", policy)
	zone := &swapZone{}
	zone.set(t, zoneText+`_mta-sts.example.net. TXT "v=STSv1; id=20260101"`)
	now := time.Now()
	f := mtasts.NewFetcher(mtasts.Options{Resolver: zone, Roots: ca.Pool(), Port: srv.Port, Now: func() time.Time { return now }})
	ctx := context.Background()
	p, err := f.Policy(ctx, "Example.NET.")
	if err != nil || p == nil || p.Mode != mtasts.Enforce || !p.MatchMX("mx.example.net") {
		t.Fatalf("policy %+v, %v", p, err)
	}
	f.Policy(ctx, "example.net")
	if n := srv.Hits.Load(); n != 1 {
		t.Errorf("%d fetches for an unchanged id, want 1", n)
	}
	zone.set(t, zoneText+`_mta-sts.example.net. TXT "v=STSv1; id=20260102"`)
	srv.Set("mta-sts.example.net", "version: STSv1\nmode: testing\nmx: *.example.net\nmax_age: 60\n")
	if p, _ := f.Policy(ctx, "example.net"); p.Mode != mtasts.Testing || srv.Hits.Load() != 2 {
		t.Errorf("after an id change: %+v, %d fetches", p, srv.Hits.Load())
	}
	// The id changes again but the policy host is gone: the cached
	// policy serves until its max_age ends.
	zone.set(t, zoneText+`_mta-sts.example.net. TXT "v=STSv1; id=20260103"`)
	srv.Set("mta-sts.example.net", "")
	if p, err := f.Policy(ctx, "example.net"); err != nil || p == nil || p.Mode != mtasts.Testing {
		t.Errorf("fetch failed with a cached policy: %+v, %v", p, err)
	}
	now = now.Add(2 * time.Minute)
	_, err = f.Policy(ctx, "example.net")
	var fe *mtasts.FetchError
	if !errors.As(err, &fe) || fe.Result != mtasts.ResultFetchError {
		t.Errorf("after max_age with the host gone: %v, want %s", err, mtasts.ResultFetchError)
	}
}

func TestNoPolicy(t *testing.T) {
	z, _ := resolver.ParseZone("example.org. MX 10 mx.example.org.\n")
	f := mtasts.NewFetcher(mtasts.Options{Resolver: z})
	if p, err := f.Policy(context.Background(), "example.org"); p != nil || err != nil {
		t.Errorf("no record: %+v, %v", p, err)
	}
}

// Each way a published policy can fail to be had gives its TLS-RPT
// result type.
func TestFetchFailures(t *testing.T) {
	ca := certstest.NewCA(t)
	other := certstest.NewCA(t)
	z, _ := resolver.ParseZone(zoneText)
	addr := dnstest.Start(t, z)
	dns, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, want string
		setup      func(*ststest.Server)
		roots      *certstest.CA
	}{
		{"untrusted certificate", mtasts.ResultWebPKI, func(s *ststest.Server) { s.Set("mta-sts.other.example", policy) }, other},
		{"not found", mtasts.ResultFetchError, func(s *ststest.Server) {}, ca},
		{"not a policy", mtasts.ResultInvalid, func(s *ststest.Server) { s.Set("mta-sts.other.example", "<html>") }, ca},
		{"wrong content type", mtasts.ResultInvalid, func(s *ststest.Server) {
			s.Set("mta-sts.other.example", policy)
			s.ContentType = "text/html"
		}, ca},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := ststest.Start(t, ca, "mta-sts.other.example")
			c.setup(srv)
			f := mtasts.NewFetcher(mtasts.Options{Resolver: dns, Roots: c.roots.Pool(), Port: srv.Port})
			p, err := f.Policy(context.Background(), "other.example")
			var fe *mtasts.FetchError
			if p != nil || !errors.As(err, &fe) || fe.Result != c.want {
				t.Errorf("got %+v, %v; want %s", p, err, c.want)
			}
		})
	}
}
