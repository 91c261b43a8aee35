// Package replay evaluates journal records again with another rule set,
// offline: the message text comes from the journal's copy, and every DNS
// question is answered from the answers the original run recorded
// (resolver.Replay), so that the only thing that differs is the rules. A
// question the original run never asked (the new rules need a check the
// old did not run) is answered per the Unrecorded policy and reported.
package replay

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/server/journal"
	"github.com/sluicemail/sluice/stages/resolver"
)

// Options say how to replay.
type Options struct {
	Dir        string                        // the journal directory, for the message copies
	Pipeline   func(string) *engine.Pipeline // the new rules, by pipeline name
	Unrecorded resolver.Unrecorded           // default temperror
	Live       engine.Resolver               // for UnrecordedLive
	// Body, when set, is the message text, instead of the journal's copy
	// (the shadow rules evaluate a message as it is being decided).
	Body []byte
	// Bodies, when set, reads the journal's copies with its files kept
	// open (a replay of many records); otherwise each is opened anew.
	Bodies *journal.Bodies
}

// Outcome is what the new rules decide for one record.
type Outcome struct {
	Verdict engine.Verdict
	// Rules are the rules of the new verdict, with file and line.
	Rules []journal.Rule
	// Unrecorded are the DNS questions the recording did not hold.
	Unrecorded []string
	// NoBody is set when the record has no copy of the message text: the
	// rules were evaluated up to RCPT only.
	NoBody bool
}

// Record evaluates one record with the new rules, as the SMTP session
// would have: the connection and envelope phases first, where a reject or
// tempfail ends it, then DATA with the kept message text. A record of a
// refusal before DATA has no text: its replay ends at RCPT, with the
// action the rules reached there.
func Record(ctx context.Context, rec *journal.Record, o Options) (Outcome, error) {
	var out Outcome
	p := o.Pipeline(rec.Pipeline)
	policy := o.Unrecorded
	if policy == "" {
		policy = resolver.UnrecordedTemperror
	}
	dns := resolver.NewReplay(rec.DNS, policy, o.Live)
	raw := o.Body
	if raw == nil {
		var err error
		if raw, err = body(o, rec); err != nil {
			return out, err
		}
	}
	out.NoBody = raw == nil
	if p == nil {
		out.Verdict = engine.Verdict{Action: engine.ActionAccept, Decided: true}
		return out, nil
	}
	m := engine.NewMessage(envelope(rec), nil)
	tx := p.Begin(m, engine.WithResolver(dns))
	out.Verdict = evaluate(ctx, tx, m, raw, rec.Conn.Listener)
	out.Rules = journal.RulesOf(p, out.Verdict.Fired)
	out.Unrecorded = dns.Unrecorded()
	return out, nil
}

func evaluate(ctx context.Context, tx *engine.Tx, m *engine.Message, raw []byte, listener string) engine.Verdict {
	phases := []engine.Phase{engine.PhaseMail, engine.PhaseRcpt}
	if listener == "smtp" {
		phases = append([]engine.Phase{engine.PhaseHelo}, phases...)
	}
	var v engine.Verdict
	for _, ph := range phases {
		v = tx.Evaluate(ctx, ph)
		if v.Decided && v.Final() {
			return v
		}
	}
	if raw == nil {
		// No text to go on with: what the rules said up to RCPT stands.
		v.Decided = true
		return v
	}
	m.SetRaw(raw)
	return tx.Evaluate(ctx, engine.PhaseData)
}

func body(o Options, rec *journal.Record) ([]byte, error) {
	if rec.Stored == nil || rec.Stored.Body == nil {
		return nil, nil
	}
	var raw []byte
	var err error
	if o.Bodies != nil {
		raw, err = o.Bodies.Read(rec.Stored.Body)
	} else {
		raw, err = journal.ReadBody(o.Dir, rec.Stored.Body)
	}
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", rec.ID, err)
	}
	return raw, nil
}

func envelope(rec *journal.Record) engine.Envelope {
	ip, _ := netip.ParseAddr(rec.Conn.IP)
	rcpt := append([]string(nil), rec.Envelope.Rcpt...)
	if rec.Envelope.Refused != "" {
		rcpt = append(rcpt, rec.Envelope.Refused)
	}
	return engine.Envelope{IP: ip, HELO: rec.Conn.HELO, TLS: rec.Conn.TLS != "", Listener: rec.Conn.Listener,
		Port: rec.Conn.Port, AuthUser: rec.Conn.User, MailFrom: rec.Envelope.From, Rcpt: rcpt}
}
