package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/server/tlsrpt"
	"github.com/sluicemail/sluice/stages/dkim"
)

// Relaying records the TLS outcome for the destination's report, and a
// report mail goes out through the queue, DKIM-signed by our domain.
func TestServeRecordsAndMailsTLSReports(t *testing.T) {
	e := newE2E(t, e2eInbound)
	if e.in.reports == nil {
		t.Fatal("no TLS reporter in the running server")
	}
	if err := e.submit("alice@example.net", "alice@example.net", "friend@remote.example", "tls report"); err != nil {
		t.Fatal(err)
	}
	e.remoteMessages(1)
	rep := e.in.reports.Build(time.Now().UTC().Format(time.DateOnly))["remote.example"]
	if rep == nil || len(rep.Policies) != 1 {
		t.Fatalf("report for remote.example: %+v", rep)
	}
	if p := rep.Policies[0]; p.Policy.PolicyType != tlsrpt.PolicyNone || p.Summary.Successful != 1 || p.Summary.Failed != 0 {
		t.Errorf("policy part %+v", p)
	}
	gz, err := tlsrpt.Gzip(rep)
	if err != nil {
		t.Fatal(err)
	}
	raw := tlsrpt.Message("tls-reports@example.net", "tlsrpt@remote.example", "example.net", "remote.example", rep, gz, time.Now())
	if err := e.in.mailReport(context.Background(), "tls-reports@example.net", []string{"tlsrpt@remote.example"}, raw); err != nil {
		t.Fatal(err)
	}
	got := e.remoteMessages(2)[1]
	if got.From != "tls-reports@example.net" || !strings.Contains(string(got.Data), "TLS-Report-Domain: remote.example") {
		t.Errorf("report mail %+v", got)
	}
	if res := dkim.Verify(context.Background(), e.zone, got.Data, 5); res.Result != "pass" {
		t.Errorf("DKIM on the report: %+v", res)
	}
}
