package reports

import (
	"encoding/xml"
	"strings"
)

// Feedback is an aggregate report, RFC 7489 Appendix C: the XML sluice
// writes and the XML it reads. Reading is lenient as receivers are: unknown
// elements (the version 2.0 additions, extensions) are ignored, and every
// value is kept as written.
type Feedback struct {
	XMLName  xml.Name       `xml:"feedback" json:"-"`
	Version  string         `xml:"version,omitempty" json:"version,omitempty"`
	Metadata ReportMetadata `xml:"report_metadata" json:"report_metadata"`
	Policy   PolicyPub      `xml:"policy_published" json:"policy_published"`
	Records  []Record       `xml:"record" json:"records"`
}

// ReportMetadata says who reports on which period.
type ReportMetadata struct {
	OrgName          string    `xml:"org_name" json:"org_name"`
	Email            string    `xml:"email" json:"email"`
	ExtraContactInfo string    `xml:"extra_contact_info,omitempty" json:"extra_contact_info,omitempty"`
	ReportID         string    `xml:"report_id" json:"report_id"`
	DateRange        DateRange `xml:"date_range" json:"date_range"`
	Errors           []string  `xml:"error,omitempty" json:"errors,omitempty"`
}

// DateRange is the period covered, in seconds since the epoch, UTC.
type DateRange struct {
	Begin int64 `xml:"begin" json:"begin"`
	End   int64 `xml:"end" json:"end"`
}

// PolicyPub is the DMARC record that applied. The schema requires p, sp,
// pct and fo; adkim and aspf are optional.
type PolicyPub struct {
	Domain string `xml:"domain" json:"domain"`
	ADKIM  string `xml:"adkim,omitempty" json:"adkim,omitempty"`
	ASPF   string `xml:"aspf,omitempty" json:"aspf,omitempty"`
	P      string `xml:"p" json:"p"`
	SP     string `xml:"sp" json:"sp"`
	Pct    string `xml:"pct" json:"pct"`
	FO     string `xml:"fo" json:"fo"`
}

// Record is one row: a source IP and the messages from it that were
// evaluated alike.
type Record struct {
	Row         Row         `xml:"row" json:"row"`
	Identifiers Identifiers `xml:"identifiers" json:"identifiers"`
	AuthResults AuthResults `xml:"auth_results" json:"auth_results"`
}

// Row is the source, the count and the outcome.
type Row struct {
	SourceIP        string          `xml:"source_ip" json:"source_ip"`
	Count           int64           `xml:"count" json:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated" json:"policy_evaluated"`
}

// PolicyEvaluated is what was done and whether DKIM and SPF aligned.
type PolicyEvaluated struct {
	Disposition string   `xml:"disposition" json:"disposition"`
	DKIM        string   `xml:"dkim" json:"dkim"`
	SPF         string   `xml:"spf" json:"spf"`
	Reasons     []Reason `xml:"reason,omitempty" json:"reasons,omitempty"`
}

// Reason explains a disposition that differs from the policy.
type Reason struct {
	Type    string `xml:"type" json:"type"`
	Comment string `xml:"comment,omitempty" json:"comment,omitempty"`
}

// Identifiers are the domains of the envelope and the From field.
type Identifiers struct {
	EnvelopeTo   string `xml:"envelope_to,omitempty" json:"envelope_to,omitempty"`
	EnvelopeFrom string `xml:"envelope_from" json:"envelope_from"`
	HeaderFrom   string `xml:"header_from" json:"header_from"`
}

// AuthResults are the raw SPF and DKIM results, uninterpreted by DMARC.
type AuthResults struct {
	DKIM []DKIMAuth `xml:"dkim,omitempty" json:"dkim,omitempty"`
	SPF  []SPFAuth  `xml:"spf" json:"spf"`
}

// DKIMAuth is one signature's result.
type DKIMAuth struct {
	Domain   string `xml:"domain" json:"domain"`
	Selector string `xml:"selector,omitempty" json:"selector,omitempty"`
	Result   string `xml:"result" json:"result"`
}

// SPFAuth is the SPF result of one identity.
type SPFAuth struct {
	Domain string `xml:"domain" json:"domain"`
	Scope  string `xml:"scope,omitempty" json:"scope,omitempty"`
	Result string `xml:"result" json:"result"`
}

// normalize lower-cases the words receivers write in any case ("Pass",
// "None"), so summaries count them together.
func (f *Feedback) normalize() {
	f.Policy.Domain = strings.ToLower(strings.TrimSpace(f.Policy.Domain))
	for i := range f.Records {
		pe := &f.Records[i].Row.PolicyEvaluated
		pe.Disposition = strings.ToLower(strings.TrimSpace(pe.Disposition))
		pe.DKIM = strings.ToLower(strings.TrimSpace(pe.DKIM))
		pe.SPF = strings.ToLower(strings.TrimSpace(pe.SPF))
		f.Records[i].Row.SourceIP = strings.TrimSpace(f.Records[i].Row.SourceIP)
	}
}
