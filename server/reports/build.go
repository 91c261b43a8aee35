package reports

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	msgdmarc "github.com/emersion/go-msgauth/dmarc"
	"github.com/sluicemail/sluice/stages/dmarc"
)

// Building one report (RFC 7489 section 7.2.1): the rows group the
// evaluations that share everything but their time, and the message
// carries the gzipped XML as an application/gzip attachment named as
// section 7.2.1.1 says.

// feedback builds the report of evs (one policy domain, one period).
func feedback(org, email, policyDomain string, rec *dmarc.Record, begin, end time.Time, evs []Evaluation) *Feedback {
	f := &Feedback{Version: "1.0"}
	f.Metadata = ReportMetadata{OrgName: org, Email: email, ReportID: reportID(policyDomain, begin),
		DateRange: DateRange{Begin: begin.Unix(), End: end.Unix()}}
	f.Policy = published(policyDomain, rec)
	rows := map[string]*Record{}
	var order []string
	for _, ev := range evs {
		r := recordOf(ev)
		key := rowKey(r)
		if rows[key] == nil {
			rows[key] = &r
			order = append(order, key)
		}
		rows[key].Row.Count++
	}
	sort.Strings(order) // deterministic: by source IP first
	for _, k := range order {
		f.Records = append(f.Records, *rows[k])
	}
	return f
}

// published is policy_published: every field the schema requires, with
// the record's defaults spelt out (sp defaults to p, pct to 100, fo to 0).
func published(domain string, rec *dmarc.Record) PolicyPub {
	p := PolicyPub{Domain: domain, ADKIM: "r", ASPF: "r", P: string(rec.Policy), SP: string(rec.SubdomainPolicy), Pct: "100", FO: "0"}
	if rec.DKIMAlignment == "s" {
		p.ADKIM = "s"
	}
	if rec.SPFAlignment == "s" {
		p.ASPF = "s"
	}
	if p.SP == "" {
		p.SP = p.P
	}
	if rec.Percent != nil {
		p.Pct = strconv.Itoa(*rec.Percent)
	}
	if fo := foString(rec.FailureOptions); fo != "" {
		p.FO = fo
	}
	return p
}

// foString writes go-msgauth's fo= bit set back as the record's letters.
func foString(o msgdmarc.FailureOptions) string {
	var out []string
	for _, x := range []struct {
		bit msgdmarc.FailureOptions
		s   string
	}{{msgdmarc.FailureAll, "0"}, {msgdmarc.FailureAny, "1"}, {msgdmarc.FailureDKIM, "d"}, {msgdmarc.FailureSPF, "s"}} {
		if o&x.bit != 0 {
			out = append(out, x.s)
		}
	}
	return strings.Join(out, ":")
}

// recordOf is the row of one evaluation, with a count of zero.
func recordOf(ev Evaluation) Record {
	r := Record{Row: Row{SourceIP: schemaIP(ev.SourceIP), PolicyEvaluated: PolicyEvaluated{
		Disposition: ev.Disposition, DKIM: passFail(ev.DKIMAligned), SPF: passFail(ev.SPFAligned)}}}
	r.Identifiers = Identifiers{EnvelopeTo: ev.EnvelopeTo, EnvelopeFrom: ev.EnvelopeFrom, HeaderFrom: ev.HeaderFrom}
	if ev.EnvelopeFrom == "" {
		// The null sender: SPF checked the HELO name, the schema wants a value.
		r.Identifiers.EnvelopeFrom = ev.SPF.Domain
	}
	if reason := overrideReason(ev); reason != "" {
		r.Row.PolicyEvaluated.Reasons = []Reason{{Type: reason}}
	}
	for _, d := range ev.DKIM {
		r.AuthResults.DKIM = append(r.AuthResults.DKIM, DKIMAuth{Domain: d.Domain, Selector: d.Selector, Result: dkimResult(d.Result)})
	}
	scope := ev.SPF.Scope
	if scope != "helo" {
		scope = "mfrom" // the schema requires one
	}
	r.AuthResults.SPF = []SPFAuth{{Domain: ev.SPF.Domain, Scope: scope, Result: spfResult(ev.SPF.Result)}}
	return r
}

// overrideReason says why the disposition differs from the policy of a
// failing message (RFC 7489 section 7.2.1, PolicyOverrideType).
func overrideReason(ev Evaluation) string {
	switch {
	case ev.pass():
		return ""
	case ev.SampledOut:
		return "sampled_out" // pct= made the policy lighter
	case ev.Disposition == ev.Policy:
		return ""
	case ev.Forwarded:
		return "trusted_forwarder"
	}
	return "local_policy"
}

func rowKey(r Record) string {
	b, _ := xml.Marshal(r)
	return r.Row.SourceIP + "\x00" + string(b)
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// dkimResult and spfResult keep to the schema's words; anything else (a
// check that did not run) is "none".
func dkimResult(r string) string {
	switch r {
	case "pass", "fail", "policy", "neutral", "temperror", "permerror":
		return r
	}
	return "none"
}

func spfResult(r string) string {
	switch r {
	case "pass", "fail", "softfail", "neutral", "temperror", "permerror":
		return r
	}
	return "none"
}

// schemaIP writes an IPv6 address in full: the schema's pattern (RFC
// 7489 Appendix C, IPAddress) accepts only eight groups, no "::".
func schemaIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Is4In6() {
		return s
	}
	return a.StringExpanded()
}

func reportID(domain string, begin time.Time) string {
	r := make([]byte, 6)
	rand.Read(r)
	return fmt.Sprintf("%s.%d.%s", domain, begin.Unix(), hex.EncodeToString(r))
}

// Marshal returns the report's XML document.
func (f *Feedback) Marshal() ([]byte, error) {
	b, err := xml.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// Filename is the attachment's name, section 7.2.1.1:
// receiver!policy-domain!begin!end!unique-id.xml.gz.
func (f *Feedback) Filename() string {
	id := f.Metadata.ReportID[strings.LastIndexByte(f.Metadata.ReportID, '.')+1:]
	return fmt.Sprintf("%s!%s!%d!%d!%s.xml.gz", f.Metadata.OrgName, f.Policy.Domain, f.Metadata.DateRange.Begin, f.Metadata.DateRange.End, id)
}

// message writes the report mail: a short text part and the gzipped XML
// as application/gzip (section 7.2.1.1).
func (f *Feedback) message(from, to, hostname string, now time.Time) ([]byte, error) {
	doc, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(doc)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	boundary := "=_dmarc_" + f.Metadata.ReportID[strings.LastIndexByte(f.Metadata.ReportID, '.')+1:]
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: <%s>", from)
	w("To: <%s>", to)
	w("Subject: Report Domain: %s Submitter: %s Report-ID: <%s>", f.Policy.Domain, f.Metadata.OrgName, f.Metadata.ReportID)
	w("Date: %s", now.Format(time.RFC1123Z))
	w("Message-ID: <%s@%s>", f.Metadata.ReportID, hostname)
	w("Auto-Submitted: auto-generated")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/mixed; boundary=\"%s\"", boundary)
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("")
	w("This is a DMARC aggregate report (RFC 7489) for %s from %s,", f.Policy.Domain, f.Metadata.OrgName)
	w("covering %s to %s UTC.", time.Unix(f.Metadata.DateRange.Begin, 0).UTC().Format(time.DateTime), time.Unix(f.Metadata.DateRange.End, 0).UTC().Format(time.DateTime))
	w("")
	w("--%s", boundary)
	w("Content-Type: application/gzip; name=\"%s\"", f.Filename())
	w("Content-Disposition: attachment; filename=\"%s\"", f.Filename())
	w("Content-Transfer-Encoding: base64")
	w("")
	enc := base64.StdEncoding.EncodeToString(gz.Bytes())
	for len(enc) > 76 {
		w("%s", enc[:76])
		enc = enc[76:]
	}
	w("%s", enc)
	w("--%s--", boundary)
	return b.Bytes(), nil
}
