package rules

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/sluicemail/sluice/engine"
)

var envAlice = engine.Envelope{IP: netip.MustParseAddr("192.0.2.10"), HELO: "mx.example.net", MailFrom: "alice@example.net", Rcpt: []string{"bob@example.org"}}

func TestEveryAction(t *testing.T) {
	cases := []struct {
		action, want, reply, redirect string
	}{
		{`accept`, engine.ActionAccept, "", ""},
		{`reject`, engine.ActionReject, "550 5.7.1 Message refused", ""},
		{`reject 554 5.7.1 "Go away"`, engine.ActionReject, "554 5.7.1 Go away", ""},
		{`reject 550`, engine.ActionReject, "550 5.7.1 Message refused", ""},
		{`tempfail`, engine.ActionTempfail, "451 4.7.1 Try again later", ""},
		{`tempfail 421 4.3.2 "Busy"`, engine.ActionTempfail, "421 4.3.2 Busy", ""},
		{`discard`, engine.ActionDiscard, "", ""},
		{`junk`, engine.ActionJunk, "", ""},
		{`quarantine`, engine.ActionQuarantine, "", ""},
		{`redirect postmaster@example.org`, engine.ActionRedirect, "", "postmaster@example.org"},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			set := mustLoad(t, "pipeline: inbound\nrules:\n  - name: it\n    when: msg.subject == \"hello there\"\n    action: '"+c.action+"'\n  - name: after\n    score: 1\n")
			v := eval(t, set.Pipeline(Inbound), envAlice, plainMsg, engine.PhaseData)
			if v.Action != c.want || v.Reply() != c.reply || v.Redirect != c.redirect {
				t.Errorf("got action %s reply %q redirect %q, want %s %q %q", v.Action, v.Reply(), v.Redirect, c.want, c.reply, c.redirect)
			}
			if got := v.Rules(); len(got) != 1 || got[0] != "it" {
				t.Errorf("fired %v: a terminal action must stop evaluation", got)
			}
		})
	}
}

func TestScoresHeadersTagsAndStop(t *testing.T) {
	set := mustLoad(t, `pipeline: inbound
rules:
  - name: has-url
    when: len(msg.urls) > 0
    score: 2.5
    headers: {X-Sluice-Url: "{{ msg.url_domains[0] }}"}
  - name: greeting
    when: lower(msg.subject) contains "hello"
    score: 1
    tag: "[{{ score }}]"
  - name: junk-it
    when: score >= 3.5
    action: junk
    stop: false
    headers: {X-Spam-Flag: "YES"}
  - name: still-runs
    when: true
    score: 0.5
  - name: too-much
    when: score >= 10
    action: reject
`)
	v := eval(t, set.Pipeline(Inbound), envAlice, plainMsg, engine.PhaseData)
	if v.Action != engine.ActionJunk || v.Score != 4 || v.Tag != "[3.5]" {
		t.Fatalf("got %s score %g tag %q, want junk 4 [3.5]", v.Action, v.Score, v.Tag)
	}
	want := "has-url greeting junk-it still-runs"
	if got := strings.Join(v.Rules(), " "); got != want {
		t.Errorf("fired %q, want %q", got, want)
	}
	if len(v.Headers) != 2 || v.Headers[0].Value != "www.example.com" || v.Headers[1].Name != "X-Spam-Flag" {
		t.Errorf("headers %+v", v.Headers)
	}
}

func TestInterpolationAndRuntimeError(t *testing.T) {
	set := mustLoad(t, `pipeline: inbound
rules:
  - name: named
    when: msg.from_domain == "example.net"
    action: reject 550 5.7.1 "No mail from {{ msg.from_domain }} via {{ conn.helo }} ({{ len(envelope.rcpt) }} rcpt)"
`)
	v := eval(t, set.Pipeline(Inbound), envAlice, plainMsg, engine.PhaseData)
	if want := "550 5.7.1 No mail from example.net via mx.example.net (1 rcpt)"; v.Reply() != want {
		t.Errorf("reply %q, want %q", v.Reply(), want)
	}
	// An index out of range at run time is a tempfail naming the rule, never
	// a silent no-match.
	set = mustLoad(t, `pipeline: inbound
rules:
  - name: fragile
    when: msg.to[3] == "x@y"
    action: reject
`)
	v = eval(t, set.Pipeline(Inbound), envAlice, plainMsg, engine.PhaseData)
	if v.Action != engine.ActionTempfail || v.Err == nil || !strings.Contains(v.Err.Error(), `rule "fragile"`) {
		t.Errorf("got %s err %v, want tempfail naming the rule", v.Action, v.Err)
	}
}

func TestLists(t *testing.T) {
	set := mustLoad(t, `pipeline: inbound
lists:
  vip: [alice@example.net, example.com, 192.0.2.0/24]
  subs: [.example.org]
  blocked: {file: lists/blocked.txt}
rules:
  - {name: vip-addr, when: 'in_list("vip", "ALICE@example.net")', score: 1}
  - {name: vip-domain, when: 'in_list("vip", "bob@example.com")', score: 1}
  - {name: vip-ip, when: 'in_list("vip", conn.ip)', score: 1}
  - {name: not-sub, when: 'in_list("vip", "x@sub.example.com")', score: 100}
  - {name: sub, when: 'in_list("subs", "x@a.b.example.org")', score: 1}
  - {name: blocked-ip, when: 'in_list("blocked", "198.51.100.7")', score: 1}
  - {name: blocked-dom, when: 'in_list("blocked", envelope.from_domain)', score: 100}
  - {name: domain-fn, when: 'domain("X@Example.ORG") == "example.org"', score: 1}
  - {name: cidr-fn, when: 'cidr(conn.ip, "192.0.2.0/28")', score: 1}
`, "lists/blocked.txt", "# bad neighbours\n198.51.100.0/24  # a whole net\nspam.example\n")
	v := eval(t, set.Pipeline(Inbound), envAlice, plainMsg, engine.PhaseData)
	want := "vip-addr vip-domain vip-ip sub blocked-ip domain-fn cidr-fn"
	if got := strings.Join(v.Rules(), " "); got != want {
		t.Errorf("fired %q, want %q", got, want)
	}
	if len(set.Watched) != 2 {
		t.Errorf("watched %v, want the rule file and the list file", set.Watched)
	}
}

// TestLazyStages proves a stage runs only when a reached rule needs it, and
// at most once per message.
func TestLazyStages(t *testing.T) {
	set := mustLoad(t, `pipeline: inbound
rules:
  - name: early-reject
    when: conn.helo == "bad.example"
    action: reject
  - name: uses-rdns
    when: rdns.fcrdns
    score: 1
  - name: uses-rdns-again
    when: rdns.result == "pass"
    score: 1
`)
	p := set.Pipeline(Inbound)
	before := probeRuns.Load()
	bad := envAlice
	bad.HELO = "bad.example"
	v := eval(t, p, bad, plainMsg, engine.PhaseData)
	if v.Action != engine.ActionReject || probeRuns.Load() != before || len(v.Stages) != 0 {
		t.Fatalf("reject with %d stage runs (stages %v); the rule after a terminal reject must not run its stage", probeRuns.Load()-before, v.Stages)
	}
	v = eval(t, p, envAlice, plainMsg, engine.PhaseData)
	if v.Score != 2 || probeRuns.Load() != before+1 || len(v.Stages) != 1 || v.Stages[0] != "rdns" {
		t.Fatalf("score %g, %d runs, stages %v: want 2, one run of rdns", v.Score, probeRuns.Load()-before, v.Stages)
	}
}

func TestStageTimeoutIsTemperror(t *testing.T) {
	set := mustLoad(t, `pipeline: inbound
stages:
  rdns: {delay: 5s}
rules:
  - name: slow
    when: rdns.result == "temperror"
    action: tempfail 451 4.4.3 "DNS trouble"
`)
	v := eval(t, set.Pipeline(Inbound), envAlice, plainMsg, engine.PhaseData)
	if v.Action != engine.ActionTempfail || v.Reply() != "451 4.4.3 DNS trouble" {
		t.Fatalf("got %s %q, want the temperror rule to fire", v.Action, v.Reply())
	}
}

// TestPhases: a verdict is reached at the earliest phase whose facts
// decide it, and not before a terminal rule that needs later facts.
func TestPhases(t *testing.T) {
	set := mustLoad(t, `pipeline: inbound
rules:
  - name: from-spammer
    when: envelope.from_domain == "spam.example"
    action: reject 550 5.7.1 "sender refused"
  - name: content-score
    when: msg.subject contains "hello"
    score: 3
  - name: client-bad
    when: conn.helo == "bad.example"
    action: reject 554 5.7.1 "go away"
  - name: content-accept
    when: msg.subject == "whitelisted"
    action: accept
  - name: late-client
    when: conn.ip == "192.0.2.99"
    action: reject
`)
	p := set.Pipeline(Inbound)
	env := envAlice
	env.HELO = "bad.example"
	tx := p.Begin(engine.NewMessage(env, nil))
	if v := tx.Evaluate(context.Background(), engine.PhaseConnect); v.Decided {
		t.Fatalf("decided at connect (%s): from-spammer needs MAIL FROM", v.Action)
	}
	v := tx.Evaluate(context.Background(), engine.PhaseMail)
	if !v.Decided || v.Action != engine.ActionReject || v.Reply() != "554 5.7.1 go away" || v.Phase != engine.PhaseMail {
		t.Fatalf("at MAIL: decided %v %s %q phase %s, want the HELO reject", v.Decided, v.Action, v.Reply(), v.Phase)
	}
	// late-client comes after a terminal content rule: it must wait for DATA.
	env = envAlice
	env.IP = netip.MustParseAddr("192.0.2.99")
	tx = p.Begin(engine.NewMessage(env, nil))
	if v := tx.Evaluate(context.Background(), engine.PhaseRcpt); v.Decided {
		t.Fatalf("decided at RCPT, but content-accept before it needs the message")
	}
	tx.Message().SetRaw([]byte(plainMsg))
	v = tx.Evaluate(context.Background(), engine.PhaseData)
	if !v.Decided || v.Action != engine.ActionReject || v.Phase != engine.PhaseData || v.Score != 3 {
		t.Fatalf("at DATA: %+v", v)
	}
}

// TestConcurrentEvaluation shares one pipeline between many goroutines;
// run with -race.
func TestConcurrentEvaluation(t *testing.T) {
	set := mustLoad(t, `pipeline: inbound
lists:
  vip: [example.net]
rules:
  - {name: r1, when: 'rdns.fcrdns and in_list("vip", envelope.mail_from)', score: 1}
  - {name: r2, when: 'msg.subject matches "^hello"', score: 1, headers: {X-N: "{{ score }}"}}
  - {name: r3, when: 'score >= 2', action: junk}
`)
	p := set.Pipeline(Inbound)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				v := p.Begin(engine.NewMessage(envAlice, []byte(plainMsg))).Evaluate(context.Background(), engine.PhaseData)
				if v.Action != engine.ActionJunk || v.Score != 2 {
					t.Errorf("got %s %g", v.Action, v.Score)
					return
				}
			}
		}()
	}
	wg.Wait()
}
