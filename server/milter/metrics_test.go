package milter

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sluicemail/sluice/server/smtp"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"

	_ "github.com/sluicemail/sluice/stages/dnsbl" // the check the rules use
)

const metricsRules = `pipeline: inbound
stages:
  dnsbl:
    zones: [{zone: bl.example}]
rules:
  - name: listed
    when: dnsbl.listed and envelope.mail_from endsWith "@listed.example"
    action: reject 554 5.7.1 "Client {{ conn.ip }} is listed"
  - name: no-such-list
    when: any(envelope.rcpt, {# == "list@example.net"})
    action: tempfail 450 4.2.1 "List is paused"
  - name: junk-me
    when: msg.subject contains "viagra"
    action: junk
  - name: drop-me
    when: msg.subject contains "DROP"
    action: discard
`

// TestMetrics: a milter conversation counts in the rule metrics the SMTP
// server exports (its smtp.Metrics, as `sluice serve` wires them: verdicts
// by pipeline and action, rule hits, stage durations) and in the milter's
// own (sessions, open connections, replies by action), scraped through a
// registry as /metrics does.
func TestMetrics(t *testing.T) {
	zone, err := resolver.ParseZone("$ORIGIN .\n7.2.0.192.bl.example. 300 IN A 127.0.0.2\n")
	if err != nil {
		t.Fatal(err)
	}
	dns, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(t, zone)}})
	if err != nil {
		t.Fatal(err)
	}
	rm, mm := smtp.NewMetrics(), NewMetrics()
	addr := startMilterRules(t, metricsRules, func(o *Options) { o.DNS, o.Rules, o.Metrics = dns, rm, mm })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(rm, mm)

	in := dialMTA(t, addr, "")
	if r := in.send("<x@listed.example>", []string{"<bob@example.net>"}, message("hi")); r.stage != "mail" || r.act.SMTPCode != 554 {
		t.Fatalf("listed: %s %+v", r.stage, r.act)
	}
	if r := in.send("<a@example.org>", []string{"<list@example.net>"}, message("hi")); r.stage != "rcpt" || r.act.SMTPCode != 450 {
		t.Fatalf("paused list: %s %+v", r.stage, r.act)
	}
	in.send("<a@example.org>", []string{"<bob@example.net>"}, message("cheap viagra"))
	in.send("<a@example.org>", []string{"<bob@example.net>"}, message("DROP this"))
	in.send("<a@example.org>", []string{"<bob@example.net>"}, message("clean"))
	out := dialMTA(t, addr, "alice@example.org")
	out.send("<alice@example.org>", []string{"<x@remote.example>"}, message("report"))

	want := map[string]float64{
		`sluice_milter_sessions_total`:                                           2,
		`sluice_milter_connections`:                                              2,
		`sluice_milter_replies_total{action="accept"}`:                           3,
		`sluice_milter_replies_total{action="reject"}`:                           1,
		`sluice_milter_replies_total{action="tempfail"}`:                         1,
		`sluice_milter_replies_total{action="discard"}`:                          1,
		`sluice_milter_replies_total{action="error"}`:                            0,
		`sluice_verdicts_total{action="reject",pipeline="inbound"}`:              1,
		`sluice_verdicts_total{action="tempfail",pipeline="inbound"}`:            1,
		`sluice_verdicts_total{action="junk",pipeline="inbound"}`:                1,
		`sluice_verdicts_total{action="discard",pipeline="inbound"}`:             1,
		`sluice_verdicts_total{action="accept",pipeline="inbound"}`:              1,
		`sluice_verdicts_total{action="accept",pipeline="outbound"}`:             1,
		`sluice_rule_hits_total{pipeline="inbound",rule="listed"}`:               1,
		`sluice_rule_hits_total{pipeline="inbound",rule="junk-me"}`:              1,
		`sluice_stage_duration_seconds_count{outcome="ok",stage="dnsbl"}`:        5,
		`sluice_rule_hits_total{pipeline="inbound",rule="no-such-list"}`:         1,
		`sluice_rule_hits_total{pipeline="outbound",rule="user-rate"}`:           0,
		`sluice_verdicts_total{action="tempfail",pipeline="outbound"}`:           0,
		`sluice_stage_duration_seconds_count{outcome="temperror",stage="dnsbl"}`: 0,
	}
	got := scrape(t, reg)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k, v := range got {
		if strings.HasPrefix(k, "sluice_smtp_sessions_total") && v != 0 {
			t.Errorf("%s = %v: milter conversations are no SMTP sessions", k, v)
		}
	}
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}

	in.sess.Close()
	out.sess.Close()
	deadline := time.Now().Add(5 * time.Second)
	for scrape(t, reg)[`sluice_milter_connections`] != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sluice_milter_connections = %v after the MTA hung up, want 0", scrape(t, reg)[`sluice_milter_connections`])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape gathers reg into "name{label="value",...}" -> value, labels in
// the order Prometheus sorts them; a histogram gives its _count.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[strings.Replace(name, mf.GetName(), mf.GetName()+"_count", 1)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
