// Package tlsrpt implements SMTP TLS Reporting (RFC 8460) for the mail we
// send: the relay records the outcome of every TLS negotiation per
// recipient policy domain, a Reporter aggregates them per UTC day, and
// once the day is over sends each domain that publishes a
// _smtp._tls TXT record its report (the JSON of section 4, gzipped) to
// the record's rua: by mail through our queue (section 5.3) or by HTTPS
// POST (section 5.4).
package tlsrpt

import (
	"slices"
	"strings"
	"time"
)

// Policy types (RFC 8460 section 4.3.1.1).
const (
	PolicySTS  = "sts"
	PolicyNone = "no-policy-found"
)

// Result types of failed sessions (RFC 8460 section 4.3.2).
const (
	StartTLSNotSupported = "starttls-not-supported"
	HostMismatch         = "certificate-host-mismatch"
	Expired              = "certificate-expired"
	NotTrusted           = "certificate-not-trusted"
	ValidationFailure    = "validation-failure"
)

// Result is one TLS negotiation (or one failure to get as far), as the
// relay saw it.
type Result struct {
	PolicyDomain string   // the recipient domain
	PolicyType   string   // PolicySTS or PolicyNone
	PolicyString []string // the policy file's lines, for PolicySTS
	MXHosts      []string // the policy's mx patterns

	Failure     string // "" for a successful session, else a result type
	SendingIP   string
	ReceivingMX string // the MX host name
	ReceivingIP string
	Reason      string // failure-reason-code: our short explanation
}

// Report is the JSON report of section 4.
type Report struct {
	OrganizationName string       `json:"organization-name"`
	DateRange        DateRange    `json:"date-range"`
	ContactInfo      string       `json:"contact-info"`
	ReportID         string       `json:"report-id"`
	Policies         []PolicyPart `json:"policies"`
}

// DateRange is the report's period, a whole UTC day.
type DateRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// PolicyPart is the report for one policy.
type PolicyPart struct {
	Policy         PolicyDesc      `json:"policy"`
	Summary        Summary         `json:"summary"`
	FailureDetails []FailureDetail `json:"failure-details,omitempty"`
}

// PolicyDesc describes the policy applied.
type PolicyDesc struct {
	PolicyType   string   `json:"policy-type"`
	PolicyString []string `json:"policy-string,omitempty"`
	PolicyDomain string   `json:"policy-domain"`
	MXHost       []string `json:"mx-host,omitempty"`
}

// Summary counts the sessions.
type Summary struct {
	Successful int64 `json:"total-successful-session-count"`
	Failed     int64 `json:"total-failure-session-count"`
}

// FailureDetail counts the failed sessions of one kind.
type FailureDetail struct {
	ResultType        string `json:"result-type"`
	SendingMTAIP      string `json:"sending-mta-ip,omitempty"`
	ReceivingMXHost   string `json:"receiving-mx-hostname,omitempty"`
	ReceivingIP       string `json:"receiving-ip,omitempty"`
	FailedSessions    int64  `json:"failed-session-count"`
	FailureReasonCode string `json:"failure-reason-code,omitempty"`
}

// policyKey identifies one policy of one domain within a day.
type policyKey struct {
	Domain, Type, Text string
}

// failureKey identifies one kind of failure.
type failureKey struct {
	Result, SendingIP, MX, IP, Reason string
}

// dayStats is what one day's sessions to one policy came to.
type dayStats struct {
	Policy   PolicyDesc
	OK       int64
	Failures map[failureKey]int64
}

func keyOf(r Result) policyKey {
	return policyKey{Domain: strings.ToLower(r.PolicyDomain), Type: r.PolicyType, Text: strings.Join(r.PolicyString, "\n")}
}

// part turns a day's counts into the report's policy part, failures in a
// stable order.
func (s *dayStats) part() PolicyPart {
	p := PolicyPart{Policy: s.Policy, Summary: Summary{Successful: s.OK}}
	for k, n := range s.Failures {
		p.Summary.Failed += n
		p.FailureDetails = append(p.FailureDetails, FailureDetail{ResultType: k.Result, SendingMTAIP: k.SendingIP,
			ReceivingMXHost: k.MX, ReceivingIP: k.IP, FailedSessions: n, FailureReasonCode: k.Reason})
	}
	slices.SortFunc(p.FailureDetails, func(a, b FailureDetail) int {
		return strings.Compare(a.ResultType+a.ReceivingMXHost+a.ReceivingIP, b.ResultType+b.ReceivingMXHost+b.ReceivingIP)
	})
	return p
}
