// Package authres writes and cleans the Authentication-Results header field
// (RFC 8601). Format turns the facts of the checks that ran for a message
// (iprev from rdns, spf, dkim per signature, dmarc, arc) into the field value
// that delivery adds to accepted inbound mail; Strip removes the fields that
// falsely claim our authserv-id from an incoming message first (RFC 8601
// section 5), so that a user's mail client can trust the one we add.
// Formatting is github.com/emersion/go-msgauth/authres.
package authres

import (
	"strings"

	msgauthres "github.com/emersion/go-msgauth/authres"
	"github.com/sluicemail/sluice/engine"
)

// Format returns the Authentication-Results field value for the checks
// that ran ("authservID; none" when none did), on one line: the caller's
// header writer folds it, or use Field for a ready, folded field.
func Format(authservID string, f *engine.Facts) string {
	return msgauthres.Format(authservID, results(f))
}

// Field returns the whole header field, "Authentication-Results: ...",
// folded at spaces so that no line exceeds 78 characters where it can be
// helped (RFC 5322 section 2.1.1), ending in
// CRLF, ready to prepend to a raw message.
func Field(authservID string, f *engine.Facts) string {
	return fold("Authentication-Results: " + Format(authservID, f))
}

// results lists the results of the stages that ran: a namespace whose
// result is "" did not run.
func results(f *engine.Facts) []msgauthres.Result {
	var out []msgauthres.Result
	if r := f.Rdns.Result; r != "" {
		out = append(out, &msgauthres.IPRevResult{Value: iprevValue(r), IP: f.Conn.IP})
	}
	if r := f.SPF.Result; r != "" {
		res := &msgauthres.SPFResult{Value: msgauthres.ResultValue(r)}
		if f.SPF.Identity == "helo" || f.Envelope.MailFrom == "" {
			res.Helo = nonEmpty(f.Conn.HELO, f.SPF.Domain)
		} else {
			res.From = f.Envelope.MailFrom
		}
		out = append(out, res)
	}
	out = append(out, dkimResults(f.DKIM)...)
	if r := f.DMARC.Result; r != "" {
		out = append(out, &msgauthres.DMARCResult{Value: msgauthres.ResultValue(r), From: f.DMARC.Domain})
	}
	if r := f.ARC.Chain; r != "" {
		// The "arc" method of RFC 8617 section 10.1: a sealer copies it
		// into its ARC-Authentication-Results.
		out = append(out, &msgauthres.GenericResult{Method: "arc", Value: msgauthres.ResultValue(r)})
	}
	return out
}

// dkimResults gives one dkim= result per signature (RFC 8601 section
// 2.7.1 recommends header.d, header.s and header.a to tell them apart).
func dkimResults(d engine.DKIMFacts) []msgauthres.Result {
	if d.Result == "" {
		return nil
	}
	if len(d.Results) == 0 {
		return []msgauthres.Result{&msgauthres.DKIMResult{Value: msgauthres.ResultValue(d.Result)}}
	}
	out := make([]msgauthres.Result, 0, len(d.Results))
	for _, r := range d.Results {
		params := map[string]string{"header.d": r.Domain, "header.s": r.Selector, "header.a": r.Algorithm}
		if r.Result != "pass" {
			params["reason"] = r.Reason
		}
		out = append(out, &msgauthres.GenericResult{Method: "dkim", Value: msgauthres.ResultValue(r.Result), Params: params})
	}
	return out
}

// iprevValue maps the rdns result to RFC 8601 section 3 words: no PTR
// record at all is permerror there, not none.
func iprevValue(r string) msgauthres.ResultValue {
	if r == "none" {
		return msgauthres.ResultPermError
	}
	return msgauthres.ResultValue(r)
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fold inserts CRLF before some of the spaces of a long field, so that
// lines stay within 78 characters where a space allows it. Unfolding
// (removing the CRLFs) gives back the field exactly, quoted strings
// included.
func fold(field string) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Split(field, " ") {
		switch {
		case i == 0:
		case line+1+len(word) > 78:
			b.WriteString("\r\n")
			line = 0
			fallthrough
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String() + "\r\n"
}
