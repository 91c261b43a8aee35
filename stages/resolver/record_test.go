package resolver_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/sluicemail/sluice/stages/resolver"
)

func TestRecordAndReplay(t *testing.T) {
	z := resolver.NewZone()
	err := z.Parse(strings.NewReader(`
2.0.0.127.zen.example. 300 IN A 127.0.0.2
example.org. 3600 IN TXT "v=spf1 -all"
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	z.Fail("broken.example.", resolver.ErrServFail)
	ctx := context.Background()
	rec := resolver.NewRecorder(z)
	asks := []struct {
		name  string
		qtype uint16
	}{
		{"2.0.0.127.zen.example", dns.TypeA},
		{"Example.ORG.", dns.TypeTXT},
		{"missing.example.", dns.TypeA},
		{"example.org.", dns.TypeMX},
		{"broken.example.", dns.TypeA},
		{"example.org", dns.TypeTXT}, // again: recorded once
	}
	var want []string
	for _, q := range asks {
		a, err := rec.Query(ctx, q.name, q.qtype)
		want = append(want, outcome(a, err))
	}
	xs := rec.Exchanges()
	if len(xs) != 5 {
		t.Fatalf("recorded %d exchanges: %+v", len(xs), xs)
	}
	// Through JSON, as the journal keeps them.
	b, _ := json.Marshal(xs)
	var back []resolver.Exchange
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	rp := resolver.NewReplay(back, resolver.UnrecordedTemperror, nil)
	for i, q := range asks {
		a, err := rp.Query(ctx, q.name, q.qtype)
		if got := outcome(a, err); got != want[i] {
			t.Errorf("%s %d: replay %q, recorded %q", q.name, q.qtype, got, want[i])
		}
	}
	if u := rp.Unrecorded(); len(u) != 0 {
		t.Errorf("unrecorded: %v", u)
	}
	// Questions the recording never saw follow the policy.
	_, err = rp.Query(ctx, "new.example.", dns.TypeA)
	if !errors.Is(err, resolver.ErrUnrecorded) || !errors.Is(err, resolver.ErrServFail) {
		t.Errorf("temperror policy: %v", err)
	}
	nx := resolver.NewReplay(back, resolver.UnrecordedNXDomain, nil)
	if a, err := nx.Query(ctx, "new.example.", dns.TypeA); err != nil || a.Status != resolver.NXDomain {
		t.Errorf("nxdomain policy: %+v %v", a, err)
	}
	live := resolver.NewReplay(back, resolver.UnrecordedLive, z)
	if a, err := live.Query(ctx, "example.org.", dns.TypeA); err != nil || a.Status != resolver.NoData {
		t.Errorf("live policy: %+v %v", a, err)
	}
	if u := live.Unrecorded(); len(u) != 1 || u[0] != "example.org. A" {
		t.Errorf("live unrecorded: %v", u)
	}
	if _, err := resolver.ParseUnrecorded("maybe"); err == nil {
		t.Error("ParseUnrecorded took a bad value")
	}
}

func outcome(a *resolver.Answer, err error) string {
	if err != nil {
		return "temp"
	}
	s := a.Status.String()
	for _, rr := range a.Records {
		s += " " + rr.String()
	}
	return s
}
