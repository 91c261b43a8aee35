package relay_test

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/certs/certstest"
	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/server/mtasts/ststest"
	"github.com/sluicemail/sluice/server/relay"
	"github.com/sluicemail/sluice/server/relay/relaytest"
	"github.com/sluicemail/sluice/server/tlsrpt"
	"github.com/sluicemail/sluice/stages/resolver"
)

const stsZone = `
dest.test.          MX 10 mx.dest.test.
mx.dest.test.       A  127.0.0.1
_mta-sts.dest.test. TXT "v=STSv1; id=1"
mta-sts.dest.test.  A  127.0.0.1
`

type reports struct {
	mu  sync.Mutex
	got []tlsrpt.Result
}

func (r *reports) add(res tlsrpt.Result) {
	r.mu.Lock()
	r.got = append(r.got, res)
	r.mu.Unlock()
}

func (r *reports) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, g := range r.got {
		out = append(out, g.PolicyType+"/"+g.Failure)
	}
	return out
}

// Each row: the recipient's policy (mode and mx), what its MX offers,
// whether the mail goes and in TLS, and what TLS-RPT hears.
func TestMTASTS(t *testing.T) {
	ca := certstest.NewCA(t)
	good := ca.Leaf(time.Time{}, "mx.dest.test")
	wrong := ca.Leaf(time.Time{}, "elsewhere.test")
	expired := ca.Leaf(time.Now().Add(-time.Minute), "mx.dest.test")
	untrusted := certstest.NewCA(t).Leaf(time.Time{}, "mx.dest.test")
	cases := []struct {
		name, mode, mx string // mode "" publishes no policy
		tls            bool
		cert           *tlsCert
		delivered      bool
		report         []string
	}{
		{"enforce, valid", "enforce", "mx.dest.test", true, &tlsCert{good}, true, []string{"sts/"}},
		{"enforce, wildcard", "enforce", "*.dest.test", true, &tlsCert{good}, true, []string{"sts/"}},
		{"enforce, no STARTTLS", "enforce", "mx.dest.test", false, nil, false, []string{"sts/starttls-not-supported"}},
		{"enforce, wrong name", "enforce", "mx.dest.test", true, &tlsCert{wrong}, false, []string{"sts/certificate-host-mismatch"}},
		{"enforce, expired", "enforce", "mx.dest.test", true, &tlsCert{expired}, false, []string{"sts/certificate-expired"}},
		{"enforce, unknown CA", "enforce", "mx.dest.test", true, &tlsCert{untrusted}, false, []string{"sts/certificate-not-trusted"}},
		{"enforce, MX not in policy", "enforce", "mx.other.test", true, &tlsCert{good}, false, []string{"sts/validation-failure"}},
		{"testing, wrong name", "testing", "mx.dest.test", true, &tlsCert{wrong}, true, []string{"sts/certificate-host-mismatch"}},
		{"testing, no STARTTLS", "testing", "mx.dest.test", false, nil, true, []string{"sts/starttls-not-supported"}},
		{"testing, MX not in policy", "testing", "mx.other.test", true, &tlsCert{good}, true, []string{"sts/validation-failure", "sts/"}},
		{"no policy, self-signed", "", "", true, nil, true, []string{"no-policy-found/"}},
		{"no policy, no STARTTLS", "", "", false, nil, true, []string{"no-policy-found/starttls-not-supported"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := relaytest.Options{TLS: c.tls}
			if c.cert != nil {
				opts.Cert = &c.cert.c
			}
			mx := relaytest.Start(t, opts)
			web := ststest.Start(t, ca, "mta-sts.dest.test")
			if c.mode != "" {
				web.Set("mta-sts.dest.test", "version: STSv1\nmode: "+c.mode+"\nmx: "+c.mx+"\nmax_age: 86400\n")
			}
			zone := stsZone
			if c.mode == "" {
				zone = strings.Replace(zone, "_mta-sts.dest.test.", "; _mta-sts.dest.test.", 1)
			}
			z, err := resolver.ParseZone(zone)
			if err != nil {
				t.Fatal(err)
			}
			rep := &reports{}
			fetcher := mtasts.NewFetcher(mtasts.Options{Resolver: z, Roots: ca.Pool(), Port: web.Port})
			cl, err := relay.New(relay.Options{Resolver: z, Port: mx.Port, MTASTS: fetcher, TLSRoots: ca.Pool(), Reports: rep.add})
			if err != nil {
				t.Fatal(err)
			}
			err = cl.Send(context.Background(), "a@sluice.test", []string{"b@dest.test"}, []byte(msg))[0]
			got := mx.Messages()
			if c.delivered != (err == nil && len(got) == 1) {
				t.Fatalf("delivered=%v (err %v, %d messages), want %v", err == nil, err, len(got), c.delivered)
			}
			if c.delivered && got[0].TLS != c.tls {
				t.Errorf("TLS=%v, want %v", got[0].TLS, c.tls)
			}
			if !c.delivered && relay.IsPermanent(err) {
				t.Errorf("a policy failure must be temporary: %v", err)
			}
			if f := rep.failures(); !slices.Equal(f, c.report) {
				t.Errorf("reported %v, want %v", f, c.report)
			}
		})
	}
}

type tlsCert struct{ c tls.Certificate }
