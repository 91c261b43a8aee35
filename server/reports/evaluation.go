package reports

import (
	"time"

	"github.com/sluicemail/sluice/engine"
)

// Evaluation is one message's DMARC evaluation as an aggregate report
// needs it, kept compactly (one JSON line, short keys) until the report
// that covers it is sent.
type Evaluation struct {
	Time         time.Time `json:"t"`
	SourceIP     string    `json:"ip"`
	HeaderFrom   string    `json:"hf"`
	EnvelopeFrom string    `json:"ef,omitempty"` // domain of MAIL FROM ("" for the null sender)
	EnvelopeTo   string    `json:"et,omitempty"` // domain of the first recipient
	Policy       string    `json:"p"`            // the policy that applied: none, quarantine, reject
	Disposition  string    `json:"d"`            // what was done: none, quarantine, reject
	DKIMAligned  bool      `json:"da,omitempty"`
	SPFAligned   bool      `json:"sa,omitempty"`
	SampledOut   bool      `json:"so,omitempty"` // pct= left the message out of the policy
	Forwarded    bool      `json:"fw,omitempty"` // a trusted forwarder's ARC chain vouched for it
	DKIM         []Auth    `json:"dk,omitempty"` // every signature: domain, selector, result
	SPF          Auth      `json:"spf"`          // domain, scope (mfrom or helo), result
}

// Auth is one authentication result.
type Auth struct {
	Domain   string `json:"d"`
	Selector string `json:"s,omitempty"` // DKIM s=
	Scope    string `json:"sc,omitempty"`
	Result   string `json:"r"`
}

// FromFacts makes the evaluation of a message from the facts of its
// transaction (after the dmarc stage ran) and the disposition the server
// applied.
func FromFacts(f *engine.Facts, disposition string, at time.Time) Evaluation {
	ev := Evaluation{
		Time: at.UTC(), SourceIP: f.Conn.IP, HeaderFrom: f.DMARC.Domain,
		EnvelopeFrom: f.Envelope.FromDomain, Policy: f.DMARC.Policy, Disposition: disposition,
		DKIMAligned: f.DMARC.AlignedDKIM, SPFAligned: f.DMARC.AlignedSPF,
		SampledOut: !f.DMARC.Sampled, Forwarded: f.ARC.Trusted,
	}
	if len(f.Envelope.RcptDomains) > 0 {
		ev.EnvelopeTo = f.Envelope.RcptDomains[0]
	}
	for _, r := range f.DKIM.Results {
		ev.DKIM = append(ev.DKIM, Auth{Domain: r.Domain, Selector: r.Selector, Result: r.Result})
	}
	scope := "mfrom"
	if f.SPF.Identity == "helo" {
		scope = "helo"
	}
	ev.SPF = Auth{Domain: f.SPF.Domain, Scope: scope, Result: f.SPF.Result}
	return ev
}

// pass is the DMARC result of the evaluation.
func (ev Evaluation) pass() bool { return ev.DKIMAligned || ev.SPFAligned }
