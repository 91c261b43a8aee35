package rules

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/engine"
)

// clock is a settable time for the memory state.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func loadWithState(t *testing.T, rules string, st engine.State) *engine.Pipeline {
	t.Helper()
	set, err := Load(writeDir(t, map[string]string{"inbound.yaml": rules}), Options{State: st})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return set.Pipeline(Inbound)
}

const rateRules = `pipeline: inbound
rules:
  - name: too-many-per-ip
    when: rate_exceeded("per-ip", conn.ip, "2/h")
    action: 'tempfail 450 4.7.1 "Too many messages from {{ conn.ip }}: {{ rate.checks[0].count }} this hour"'
  - name: too-many-rcpts
    when: rate_exceeded_by("rcpts", envelope.mail_from, "5/h", len(envelope.rcpt))
    action: 'tempfail 450 4.7.1 "Too many recipients"'
`

// TestRateExceeded: the third message from one IP within the hour passes
// "2/h", whatever the number of phases it is evaluated at; its count is in
// the facts the reply interpolates; the next hour it passes again.
func TestRateExceeded(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	st := engine.NewMemoryState()
	st.Now = c.now
	p := loadWithState(t, rateRules, st)
	send := func(ip string) engine.Verdict {
		env := envAlice
		env.IP = netip.MustParseAddr(ip)
		env.MailFrom = ip + "@example.net" // a sender per IP: only the per-ip limit is near
		tx := p.Begin(engine.NewMessage(env, []byte(plainMsg)))
		for _, ph := range []engine.Phase{engine.PhaseHelo, engine.PhaseMail, engine.PhaseRcpt} {
			tx.Evaluate(context.Background(), ph)
		}
		return tx.Evaluate(context.Background(), engine.PhaseData)
	}
	for i := 1; i <= 2; i++ {
		if v := send("192.0.2.1"); v.Action != engine.ActionAccept {
			t.Fatalf("message %d: %s %s, want accept", i, v.Action, v.Reply())
		}
	}
	v := send("192.0.2.1")
	if v.Action != engine.ActionTempfail || v.Reply() != "450 4.7.1 Too many messages from 192.0.2.1: 2 this hour" {
		t.Fatalf("third message: %s %q", v.Action, v.Reply())
	}
	if v := send("192.0.2.2"); v.Action != engine.ActionAccept {
		t.Fatalf("another IP: %s, want accept (limits are per key)", v.Action)
	}
	c.t = c.t.Add(2 * time.Hour)
	if v := send("192.0.2.1"); v.Action != engine.ActionAccept {
		t.Fatalf("two hours later: %s, want accept", v.Action)
	}
}

// TestRateExceededBy counts recipients as they arrive at RCPT, each once.
func TestRateExceededBy(t *testing.T) {
	p := loadWithState(t, rateRules, engine.NewMemoryState())
	env := envAlice
	env.Rcpt = nil
	tx := p.Begin(engine.NewMessage(env, nil))
	var refused int
	for i := 0; i < 7; i++ {
		tx.Message().Envelope.Rcpt = append(tx.Message().Envelope.Rcpt, "r"+string(rune('a'+i))+"@example.org")
		v := tx.Evaluate(context.Background(), engine.PhaseRcpt)
		if v.Decided && v.Final() {
			refused++
			// The session drops a refused recipient, as smtp does.
			tx.Message().Envelope.Rcpt = tx.Message().Envelope.Rcpt[:len(tx.Message().Envelope.Rcpt)-1]
		}
	}
	if refused == 0 {
		t.Fatalf("7 recipients against 5/h: none refused")
	}
	f := tx.Facts().Rate
	var rc engine.RateCheck
	for _, c := range f.Checks {
		if c.Name == "rcpts" {
			rc = c
		}
	}
	if rc.Count != 5 || !rc.Exceeded || f.Result != "exceeded" {
		t.Fatalf("facts %+v, want rcpts count 5 exceeded", f)
	}
}

const greyRules = `pipeline: inbound
stages:
  greylist: {delay: 5m, window: 1h, pass_after: 2}
rules:
  - name: grey
    when: not cidr(conn.ip, "10.0.0.0/8")
    action: greylist
  - name: after
    score: 1
`

// TestGreylist walks a triplet through new, early, passed and known, and a
// network to its allow list after pass_after passes.
func TestGreylist(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	st := engine.NewMemoryState()
	st.Now = c.now
	p := loadWithState(t, greyRules, st)
	try := func(ip, from, rcpt string) engine.Verdict {
		env := engine.Envelope{IP: netip.MustParseAddr(ip), HELO: "x", MailFrom: from, Rcpt: []string{rcpt}}
		return p.Begin(engine.NewMessage(env, []byte(plainMsg))).Evaluate(context.Background(), engine.PhaseData)
	}
	v := try("198.51.100.7", "a@example.net", "bob@example.org")
	if v.Reply() != "451 4.7.1 Greylisted, retry after 5m0s" {
		t.Fatalf("first try: %q", v.Reply())
	}
	c.t = c.t.Add(time.Minute)
	if v := try("198.51.100.8", "A@example.net", "bob@example.org"); v.Reply() != "451 4.7.1 Greylisted, retry after 4m0s" {
		t.Fatalf("early retry from the same /24: %q", v.Reply())
	}
	c.t = c.t.Add(5 * time.Minute)
	v = try("198.51.100.9", "a@example.net", "bob@example.org")
	if v.Action != engine.ActionAccept || strings.Join(v.Rules(), ",") != "grey,after" {
		t.Fatalf("retry after the delay: %s %v, want accept with evaluation going on", v.Action, v.Rules())
	}
	c.t = c.t.Add(48 * time.Hour)
	if v := try("198.51.100.9", "a@example.net", "bob@example.org"); v.Action != engine.ActionAccept {
		t.Fatalf("known triplet two days later: %s", v.Reply())
	}
	if v := try("10.1.2.3", "z@example.net", "bob@example.org"); v.Action != engine.ActionAccept {
		t.Fatalf("a client the rule does not greylist: %s", v.Reply())
	}
	// A second triplet passes: the network has 2 passes, and a third
	// triplet from it is let through at once.
	try("198.51.100.1", "b@example.net", "bob@example.org")
	c.t = c.t.Add(10 * time.Minute)
	if v := try("198.51.100.1", "b@example.net", "bob@example.org"); v.Action != engine.ActionAccept {
		t.Fatalf("second triplet after the delay: %s", v.Reply())
	}
	tx := p.Begin(engine.NewMessage(engine.Envelope{IP: netip.MustParseAddr("198.51.100.200"), MailFrom: "new@example.com", Rcpt: []string{"carol@example.org"}}, []byte(plainMsg)))
	if v := tx.Evaluate(context.Background(), engine.PhaseData); v.Action != engine.ActionAccept || tx.Facts().Greylist.Reason != engine.GreylistNetwork {
		t.Fatalf("new triplet from an allowed network: %s %+v", v.Reply(), tx.Facts().Greylist)
	}
	// Past the window without a retry, a triplet starts over.
	try("203.0.113.5", "c@example.net", "bob@example.org")
	c.t = c.t.Add(2 * time.Hour)
	if v := try("203.0.113.5", "c@example.net", "bob@example.org"); v.Reply() != "451 4.7.1 Greylisted, retry after 5m0s" {
		t.Fatalf("retry after the window: %q, want a new greylisting", v.Reply())
	}
}

// TestGreylistIPv6Network: IPv6 clients are greylisted by /64.
func TestGreylistIPv6Network(t *testing.T) {
	if got := engine.ClientNetwork(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); got != "2001:db8:1:2::/64" {
		t.Fatalf("v6 network %s", got)
	}
	if got := engine.ClientNetwork(netip.MustParseAddr("::ffff:192.0.2.77")); got != "192.0.2.0/24" {
		t.Fatalf("mapped v4 network %s", got)
	}
}

// brokenState answers nothing but errors, as a Redis that is down.
type brokenState struct{}

var errDown = errors.New("state down")

func (brokenState) RateHit(ctx context.Context, key string, l engine.Rate, n int) (int, bool, error) {
	return 0, false, errDown
}
func (brokenState) Greylist(ctx context.Context, t engine.Triplet, s engine.GreylistSettings) (engine.GreylistResult, error) {
	return engine.GreylistResult{}, errDown
}

// TestStateDown: a state that fails lets mail through, and says so in the
// facts a rule can read.
func TestStateDown(t *testing.T) {
	p := loadWithState(t, `pipeline: inbound
rules:
  - name: limit
    when: rate_exceeded("per-ip", conn.ip, "0/h")
    action: reject
  - name: grey
    action: greylist
  - name: mark
    when: rate.result == "temperror" and greylist.result == "temperror"
    headers: {X-State: down}
`, brokenState{})
	v := eval(t, p, envAlice, plainMsg, engine.PhaseData)
	if v.Action != engine.ActionAccept || len(v.Headers) != 1 {
		t.Fatalf("state down: %s %v %v, want accept with the temperror header", v.Action, v.Rules(), v.Headers)
	}
}

// hungState fails every call, as a Redis that hangs does once the
// timeout ends each, and counts the calls (each would cost that timeout).
type hungState struct{ calls int }

func (h *hungState) RateHit(ctx context.Context, key string, l engine.Rate, n int) (int, bool, error) {
	h.calls++
	return 0, false, context.DeadlineExceeded
}
func (h *hungState) Greylist(ctx context.Context, t engine.Triplet, s engine.GreylistSettings) (engine.GreylistResult, error) {
	h.calls++
	return engine.GreylistResult{}, context.DeadlineExceeded
}

// TestStateHungOneTimeoutPerMessage: once the state failed for a message,
// its other limits and recipients are temperror without asking again, so
// a hung Redis costs a transaction one timeout, not one per limit and per
// recipient.
func TestStateHungOneTimeoutPerMessage(t *testing.T) {
	st := &hungState{}
	p := loadWithState(t, `pipeline: inbound
rules:
  - name: per-ip
    when: rate_exceeded("per-ip", conn.ip, "100/h")
    action: tempfail
  - name: per-sender
    when: rate_exceeded("per-sender", envelope.mail_from, "100/h")
    action: tempfail
  - name: grey
    action: greylist
  - name: mark
    when: rate.result == "temperror" and greylist.result == "temperror"
    headers: {X-State: down}
`, st)
	env := envAlice
	env.Rcpt = nil
	tx := p.Begin(engine.NewMessage(env, nil))
	tx.Evaluate(context.Background(), engine.PhaseMail)
	for _, r := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		tx.Message().Envelope.Rcpt = append(tx.Message().Envelope.Rcpt, r)
		tx.Evaluate(context.Background(), engine.PhaseRcpt)
	}
	tx.Message().Raw = []byte(plainMsg)
	v := tx.Evaluate(context.Background(), engine.PhaseData)
	if v.Action != engine.ActionAccept || len(v.Headers) != 1 {
		t.Fatalf("state hung: %s %v %v, want accept with the temperror header", v.Action, v.Rules(), v.Headers)
	}
	for _, c := range tx.Facts().Rate.Checks {
		if c.Result != "temperror" {
			t.Errorf("rate check %s: %s, want temperror", c.Name, c.Result)
		}
	}
	if st.calls != 1 {
		t.Fatalf("the hung state was asked %d times for one message, want once", st.calls)
	}
}

// TestRateAndGreylistErrorsAtLoad: a bad limit or greylist setting is a
// load error with its place.
func TestRateAndGreylistErrorsAtLoad(t *testing.T) {
	cases := []struct{ rules, want string }{
		{"pipeline: inbound\nrules:\n  - name: r\n    when: rate_exceeded(\"n\", conn.ip, \"3/fortnight\")\n    action: reject\n", "not a duration"},
		{"pipeline: inbound\nrules:\n  - name: r\n    when: rate_exceeded(\"n\", conn.ip, conn.helo)\n    action: reject\n", "must be a constant"},
		{"pipeline: inbound\nrules:\n  - name: r\n    when: rate_exceeded(conn.ip, conn.ip, \"3/h\")\n    action: reject\n", "name must be a constant"},
		{"pipeline: inbound\nrules:\n  - name: r\n    when: rate_exceeded(\"n\", conn.ip)\n    action: reject\n", "arguments"},
		{"pipeline: inbound\nstages:\n  greylist: {delay: 1h, window: 30m}\nrules:\n  - name: g\n    action: greylist\n", "window"},
		{"pipeline: inbound\nstages:\n  greylist: {delay: soon}\nrules:\n  - name: g\n    action: greylist\n", "delay"},
		{"pipeline: inbound\nstages:\n  greylist: {dealy: 5m}\nrules:\n  - name: g\n    action: greylist\n", "dealy"},
		{"pipeline: inbound\nrules:\n  - name: g\n    action: greylist 5m\n", "no arguments"},
	}
	for _, c := range cases {
		errs := loadErrors(t, c.rules)
		if !strings.Contains(errs[0].Error(), c.want) || errs[0].Line == 0 {
			t.Errorf("%q: got %v, want an error with a line mentioning %q", c.rules, errs[0], c.want)
		}
	}
}

// TestRuleTestsUseFreshState: a rule test counts in its own memory, so a
// greylist rule's test sees a first try, every time, and a reload's tests
// never touch the server's counters.
func TestRuleTestsUseFreshState(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"inbound.yaml": greyRules,
		"inbound_test.yaml": `tests:
  - name: greylisted
    envelope: {ip: 198.51.100.7, from: a@example.net, to: [bob@example.org]}
    raw: "Subject: x\r\n\r\nx\r\n"
    expect: {action: tempfail, reply: "451 4.7.1 Greylisted, retry after 5m0s"}
`})
	server := &countingState{MemoryState: engine.NewMemoryState()}
	set, err := Load(dir, Options{State: server})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for _, r := range set.RunTests(context.Background()) {
			if len(r.Failures) > 0 {
				t.Fatalf("run %d: %v", i, r.Failures)
			}
		}
	}
	if server.calls != 0 {
		t.Fatalf("rule tests called the server's state %d times", server.calls)
	}
}

type countingState struct {
	*engine.MemoryState
	calls int
}

func (c *countingState) Greylist(ctx context.Context, t engine.Triplet, s engine.GreylistSettings) (engine.GreylistResult, error) {
	c.calls++
	return c.MemoryState.Greylist(ctx, t, s)
}
