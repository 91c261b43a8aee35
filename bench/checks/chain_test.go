// Package checks benchmarks the whole inbound chain of checks (rdns, dnsbl
// with two lists, spf, dkim, dmarc) on a typical 5 KB DKIM-signed message,
// through the real resolver client with a warm cache, against an in-process
// DNS server on loopback. Issue 3's target: under 100 µs of CPU per message.
//
//	go test ./bench/checks -bench . -benchtime 3000x
package checks

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/stages/dkim"
	"github.com/sluicemail/sluice/stages/resolver"
	"github.com/sluicemail/sluice/stages/resolver/dnstest"

	_ "github.com/sluicemail/sluice/stages/all"
)

const chainRules = `pipeline: inbound
stages:
  dnsbl:
    zones:
      - {zone: zen.example-bl.org, score: 5}
      - {zone: list.example-wl.org, allow: true, score: -2}
rules:
  - {name: listed, when: dnsbl.listed, action: reject}
  - {name: fcrdns, when: not rdns.fcrdns, score: 1}
  - {name: spf, when: spf.result == "fail", score: 3}
  - {name: dkim, when: dkim.pass, score: -1}
  - {name: dmarc, when: dmarc.result == "fail" and dmarc.policy == "reject", action: reject}
`

// typicalMessage is about 5 KB of plain text from example.net.
func typicalMessage() []byte {
	var b strings.Builder
	b.WriteString("From: Alice <alice@example.net>\r\nTo: bob@example.org\r\nSubject: the minutes of Tuesday's meeting\r\n")
	b.WriteString("Date: Mon, 16 Nov 2026 10:11:58 +0100\r\nMessage-ID: <m1@mail.example.net>\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < 5000 {
		b.WriteString("We went through the budget line by line and agreed to meet again next week.\r\n")
	}
	return []byte(b.String())
}

func setup(b *testing.B) (*engine.Pipeline, []byte) {
	return setupRules(b, chainRules)
}

func setupRules(b *testing.B, ruleText string) (*engine.Pipeline, []byte) {
	b.Helper()
	key, err := dkim.GenerateKey("rsa")
	if err != nil {
		b.Fatal(err)
	}
	txt, err := dkim.TXTRecord("example.net", "s1", key.Public())
	if err != nil {
		b.Fatal(err)
	}
	zone, err := resolver.ParseZone(txt + `
example.net. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.net. 3600 IN TXT "v=DMARC1; p=reject"
mail.example.net. 3600 IN A 192.0.2.25
25.2.0.192.in-addr.arpa. 3600 IN PTR mail.example.net.
25.2.0.192.list.example-wl.org. 3600 IN A 127.0.10.0
example-bl.org. 3600 IN SOA ns.example-bl.org. h.example-bl.org. 1 3600 600 86400 3600
example-wl.org. 3600 IN SOA ns.example-wl.org. h.example-wl.org. 1 3600 600 86400 3600
example.net. 3600 IN SOA ns.example.net. h.example.net. 1 3600 600 86400 3600
2.0.192.in-addr.arpa. 3600 IN SOA ns.example.net. h.example.net. 1 3600 600 86400 3600
`)
	if err != nil {
		b.Fatal(err)
	}
	client, err := resolver.NewClient(resolver.ClientOptions{Servers: []string{dnstest.Start(b, zone)}})
	if err != nil {
		b.Fatal(err)
	}
	signer, err := dkim.NewSigner(nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := signer.Add("example.net", "s1", key); err != nil {
		b.Fatal(err)
	}
	raw, err := signer.Sign(typicalMessage())
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := writeFile(dir+"/inbound.yaml", ruleText); err != nil {
		b.Fatal(err)
	}
	set, err := rules.Load(dir, rules.Options{DNS: client})
	if err != nil {
		b.Fatal(err)
	}
	return set.Pipeline(rules.Inbound), raw
}

var env = engine.Envelope{IP: netip.MustParseAddr("192.0.2.25"), HELO: "mail.example.net", MailFrom: "alice@example.net", Rcpt: []string{"bob@example.org"}, Listener: "smtp"}

// BenchmarkInboundChain reports CPU µs per message (all threads, since the
// stages run concurrently) besides the wall time per message.
func BenchmarkInboundChain(b *testing.B) {
	p, raw := setup(b)
	ctx := context.Background()
	run := func() engine.Verdict {
		return p.Begin(engine.NewMessage(env, raw)).Evaluate(ctx, engine.PhaseData)
	}
	// Real zones carry an SOA, so their negative answers are cached too
	// (RFC 2308); every zone above has one.
	v := run() // warm the cache
	if len(v.Stages) != 5 || v.Action != engine.ActionAccept || v.Score != -1 {
		b.Fatalf("warm-up verdict: %s score %g stages %v rules %v", v.Action, v.Score, v.Stages, v.Rules())
	}
	b.ResetTimer()
	start := cpu()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.ReportMetric(float64((cpu()-start).Nanoseconds())/float64(b.N)/1e3, "cpu-µs/msg")
}

func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprint(err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNetworkChecks is the chain without dkim and dmarc (rdns, two
// lists, spf): what the checks cost apart from the signature verification.
func BenchmarkNetworkChecks(b *testing.B) {
	p, raw := setupRules(b, strings.Split(chainRules, "  - {name: dkim")[0])
	ctx := context.Background()
	if v := p.Begin(engine.NewMessage(env, raw)).Evaluate(ctx, engine.PhaseData); len(v.Stages) != 3 {
		b.Fatalf("warm-up ran %v", v.Stages)
	}
	b.ResetTimer()
	start := cpu()
	for i := 0; i < b.N; i++ {
		p.Begin(engine.NewMessage(env, raw)).Evaluate(ctx, engine.PhaseData)
	}
	b.ReportMetric(float64((cpu()-start).Nanoseconds())/float64(b.N)/1e3, "cpu-µs/msg")
}
