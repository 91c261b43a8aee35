package bayes

import (
	"math"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/engine"
)

// A message with two Received hops, a Return-Path of another domain than
// From, and a Date with a zone no place has.
const optionsMsg = "Return-Path: <bounce@lists.example.org>\r\n" +
	"Received: from relay.sender.example (relay.sender.example [203.0.113.7])\r\n" +
	"\tby mx.collector.example (Postfix) with ESMTP id 1234\r\n" +
	"\tfor <me@home.example>; Mon, 16 Nov 2026 10:00:00 +0000\r\n" +
	"Received: from [198.51.100.9] by\r\n    relay.sender.example with SMTP; Mon, 16 Nov 2026 09:59:00 +0000\r\n" +
	"From: News <news@shop.example>\r\n" +
	"To: me@home.example\r\n" +
	"Subject: weekly offers\r\n" +
	"Date: Mon, 16 Nov 2026 10:00:00 -1600\r\n" +
	"\r\n" +
	"cheap watches delivered today\r\n"

func tokenizeWith(o Options, raw string) []string {
	return o.Tokenize(engine.NewMessage(engine.Envelope{}, []byte(raw)))
}

func TestTokenizeReceivedOptions(t *testing.T) {
	got := tokenizeWith(DefaultOptions, optionsMsg)
	checkTokens(t, got, []string{"received:sender.example", "received:collector.example",
		"received:ip:203.0.0.0", "received:ip:198.51.0.0"}, nil)

	o := DefaultOptions
	o.ReceivedBy = false
	got = tokenizeWith(o, optionsMsg)
	// relay.sender.example is still named after "from" in the first hop.
	checkTokens(t, got, []string{"received:sender.example", "received:ip:203.0.0.0", "received:ip:198.51.0.0"},
		[]string{"received:collector.example"})

	o = DefaultOptions
	o.ReceivedIP = false
	got = tokenizeWith(o, optionsMsg)
	checkTokens(t, got, []string{"received:sender.example", "received:collector.example"},
		[]string{"received:ip:203.0.0.0", "received:ip:198.51.0.0"})
}

func TestByClause(t *testing.T) {
	for v, want := range map[string]int{
		"from a.example by b.example":    15,
		"from a.example\n\tby b.example": 16,
		"from standby.example":           len("from standby.example"),
		"by b.example":                   0,
		"from bypass.example":            len("from bypass.example"),
	} {
		if got := byClause(v); got != want {
			t.Errorf("byClause(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestTokenizeSkipPairs(t *testing.T) {
	got := tokenizeWith(DefaultOptions, optionsMsg)
	checkTokens(t, got, []string{"pair:cheap watches", "pair:watches delivered"}, []string{"skip:cheap delivered"})
	o := DefaultOptions
	o.SkipPairs = true
	got = tokenizeWith(o, optionsMsg)
	checkTokens(t, got, []string{"pair:cheap watches", "skip:cheap delivered", "skip:watches today"}, nil)
}

func TestTokenizeConsistency(t *testing.T) {
	checkTokens(t, tokenizeWith(DefaultOptions, optionsMsg), nil, []string{"return-path:other-domain", "date:odd-zone"})
	o := DefaultOptions
	o.Consistency = true
	checkTokens(t, tokenizeWith(o, optionsMsg), []string{"return-path:other-domain", "date:odd-zone"}, nil)

	same := "Return-Path: <a@mail.shop.example>\r\nFrom: b@shop.example\r\nDate: not a date\r\n\r\nhello there\r\n"
	checkTokens(t, tokenizeWith(o, same), []string{"return-path:from-domain", "date:invalid"},
		[]string{"return-path:other-domain"})
}

// The effective size factor makes the same clues less conclusive: a score
// moves towards 0.5 as ESF falls, on both sides.
func TestESFSoftensScores(t *testing.T) {
	spammy := make([]Clue, 20)
	hammy := make([]Clue, 20)
	for i := range spammy {
		spammy[i] = Clue{Token: "s", Prob: 0.8}
		hammy[i] = Clue{Token: "h", Prob: 0.2}
	}
	prevS, prevH := 1.0, 0.0
	for _, f := range []float64{1, 0.8, 0.5, 0.2} {
		p := DefaultParams
		p.SpamESF, p.HamESF = f, f
		s, _ := p.combine(spammy, 1)
		h, _ := p.combine(hammy, 1)
		if s >= prevS && f != 1 || h <= prevH && f != 1 || s <= 0.5 || h >= 0.5 {
			t.Errorf("ESF %.1f: spam %.4f (before %.4f), ham %.4f (before %.4f)", f, s, prevS, h, prevH)
		}
		if f == 1 {
			q := DefaultParams // 0 means 1
			if s0, _ := q.combine(spammy, 1); math.Abs(s0-s) > 1e-12 {
				t.Errorf("ESF 1 gives %.6f, ESF unset %.6f", s, s0)
			}
		}
		prevS, prevH = s, h
	}
}

func TestTokenizeRecipient(t *testing.T) {
	checkTokens(t, tokenizeWith(DefaultOptions, optionsMsg), nil, []string{"to:recipient", "to:not-recipient"})
	o := DefaultOptions
	o.Recipient = true
	// Neither the envelope nor a delivery header names a recipient: no token.
	checkTokens(t, tokenizeWith(o, optionsMsg), nil, []string{"to:recipient", "to:not-recipient"})

	withEnv := func(rcpt ...string) []string {
		return o.Tokenize(engine.NewMessage(engine.Envelope{Rcpt: rcpt}, []byte(optionsMsg)))
	}
	checkTokens(t, withEnv("ME@home.example"), []string{"to:recipient"}, []string{"to:not-recipient"})
	checkTokens(t, withEnv("other@home.example"), []string{"to:not-recipient"}, []string{"to:recipient"})

	// Read back from a mailbox: the last hop recorded the recipient, at a
	// host inside the domain To names.
	delivered := "Delivered-To: me@localhost.home.example\r\n" + optionsMsg
	checkTokens(t, tokenizeWith(o, delivered), []string{"to:recipient"}, []string{"to:not-recipient"})
	bcc := "X-Original-To: me@home.example\r\n" + strings.Replace(optionsMsg, "To: me@home.example", "To: undisclosed-recipients:;", 1)
	checkTokens(t, tokenizeWith(o, bcc), []string{"to:not-recipient"}, []string{"to:recipient"})
}

func TestSameMailbox(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"jo@example.org", "JO@Example.ORG", true},
		{"jo@example.org", "jo@mail.example.org", true},
		{"jo@localhost.example.org", "jo@example.org", true},
		{"jo@example.org", "jo@badexample.org", false},
		{"jo@example.org", "ann@example.org", false},
		{"jo", "jo", false},
		{"@example.org", "@example.org", false},
	} {
		if got := sameMailbox(c.a, c.b); got != c.want {
			t.Errorf("sameMailbox(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// PerSide keeps the strongest clues of each side: a message with more
// strong spam clues than MaxClues still has its ham clues counted, and so
// scores lower than when they are crowded out.
func TestPerSideKeepsHamClues(t *testing.T) {
	var clues []Clue
	for range 40 {
		clues = append(clues, Clue{Token: "s", Prob: 0.99})
	}
	for range 20 {
		clues = append(clues, Clue{Token: "h", Prob: 0.25})
	}
	p := DefaultParams
	p.MaxClues = 40
	crowded, _ := p.combine(clues, 1)
	p.PerSide = true
	both, _ := p.combine(clues, 1)
	if !(both < crowded) {
		t.Errorf("per side %.6f, overall %.6f: ham clues were not counted", both, crowded)
	}
}

// MinCount ignores tokens seen in fewer learnt messages.
func TestMinCount(t *testing.T) {
	p := DefaultParams
	if got := p.tokenProb(2, 0, 100, 100); got <= 0.6 {
		t.Fatalf("a token in 2 spam: %.3f", got)
	}
	p.MinCount = 3
	if got := p.tokenProb(2, 0, 100, 100); got != p.Unknown {
		t.Errorf("a token in 2 spam with MinCount 3: %.3f, want the unknown prior", got)
	}
	if got := p.tokenProb(3, 0, 100, 100); got <= 0.6 {
		t.Errorf("a token in 3 spam with MinCount 3: %.3f", got)
	}
}

// NoWords counts body words in their pairs only; the Subject and other
// header words still count alone.
func TestTokenizeNoWords(t *testing.T) {
	checkTokens(t, tokenizeWith(DefaultOptions, optionsMsg), []string{"cheap", "watches", "pair:cheap watches"}, nil)
	o := DefaultOptions
	o.NoWords = true
	checkTokens(t, tokenizeWith(o, optionsMsg), []string{"subject:weekly", "subject:offers", "pair:cheap watches", "pair:delivered today"},
		[]string{"cheap", "watches", "delivered", "today"})
	o.Pairs = false // no pairs: words must stay, or the body says nothing
	checkTokens(t, tokenizeWith(o, optionsMsg), []string{"cheap", "watches"}, []string{"pair:cheap watches"})
}

func TestTokenizeTriples(t *testing.T) {
	checkTokens(t, tokenizeWith(DefaultOptions, optionsMsg), nil, []string{"triple:cheap watches delivered"})
	o := DefaultOptions
	o.Triples = true
	checkTokens(t, tokenizeWith(o, optionsMsg), []string{"triple:cheap watches delivered", "triple:watches delivered today"}, nil)
}
