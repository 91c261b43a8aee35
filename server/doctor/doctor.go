// Package doctor checks that a sluice installation is ready for the
// Internet, one finding per check, each with the fix: the DNS records of
// the domains (MX, addresses and forward-confirmed reverse DNS, SPF
// evaluated per RFC 7208, DKIM keys against their RFC 6376 records,
// DMARC per RFC 7489, MTA-STS per RFC 8461, TLS-RPT per RFC 8460, the
// RFC 6186 SRV records), the running server (its certificate, its
// listeners, no open relay), the network (outbound port 25) and the DNS
// block lists. Records builds the zone lines that make every check pass;
// `sluice setup` prints them and the fixes quote them.
package doctor

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/sluicemail/sluice/stages/resolver"
)

// Status is a check's verdict, ordered by severity.
type Status int

// The verdicts.
const (
	OK Status = iota
	Warn
	Fail
)

func (s Status) String() string { return [...]string{"ok", "warn", "fail"}[s] }

// MarshalJSON writes the word.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Result is one finding.
type Result struct {
	Check   string `json:"check"`             // the check's name: mx, spf, dkim...
	Subject string `json:"subject,omitempty"` // what it looked at: a domain, an IP, a selector
	Status  Status `json:"status"`
	Detail  string `json:"detail"`
	Fix     string `json:"fix,omitempty"` // what to do, for warn and fail
}

// DKIMKey is a signing key on disk.
type DKIMKey struct {
	Domain, Selector string
	Public           crypto.PublicKey
}

// Env is what the checks look at. Zero fields skip the checks that need
// them (a check that is skipped says so as a warning).
type Env struct {
	Hostname string
	Domains  []string
	IPs      []netip.Addr      // this server's public addresses
	DNS      resolver.Resolver // required
	DKIM     []DKIMKey
	MTASTS   string // our published policy mode: testing, enforce or none

	// The running server: its MX listener, the other listeners by kind
	// (smtp, submission, submissions, imap, imaps, http, https).
	SMTPAddr  string
	Listeners map[string]string
	// Roots validate our certificate and our MTA-STS policy host; nil
	// means the system's. STSPort is where that host is reached (443).
	Roots   *x509.CertPool
	STSPort int

	// Outbound port 25: the MX of OutboundDomain is dialled on
	// OutboundPort. A Smarthost ("host:port") replaces the test.
	OutboundDomain string
	OutboundPort   int
	Smarthost      string

	DNSBLZones []string // the IP lists the rules query
	SoftBounce bool     // migration: {soft_bounce: true} is set
	Now        func() time.Time
	Timeout    time.Duration // per network probe; default 5s
}

// Check is one check: it appends its findings.
type Check struct {
	Name string
	Run  func(ctx context.Context, env *Env) []Result
}

// Checks are run in this order. Other parts may append theirs (disk
// headroom, say) before Run.
var Checks = []Check{
	{"mx", checkMX},
	{"address", checkAddress},
	{"ptr", checkPTR},
	{"spf", checkSPF},
	{"dkim", checkDKIM},
	{"dmarc", checkDMARC},
	{"mta-sts", checkMTASTS},
	{"tls-rpt", checkTLSRPT},
	{"srv", checkSRV},
	{"certificate", checkCertificate},
	{"listeners", checkListeners},
	{"open-relay", checkOpenRelay},
	{"outbound-25", checkOutbound},
	{"dnsbl", checkDNSBL},
}

// Run runs every check.
func Run(ctx context.Context, env *Env) []Result {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Timeout == 0 {
		env.Timeout = 5 * time.Second
	}
	if env.STSPort == 0 {
		env.STSPort = 443
	}
	if env.OutboundPort == 0 {
		env.OutboundPort = 25
	}
	var out []Result
	for _, c := range Checks {
		for _, r := range c.Run(ctx, env) {
			r.Check = c.Name
			out = append(out, r)
		}
	}
	return out
}

// Worst returns the most severe status.
func Worst(rs []Result) Status {
	w := OK
	for _, r := range rs {
		w = max(w, r.Status)
	}
	return w
}

// Write prints one line per finding: status, check, subject, detail and,
// when there is one, the fix.
func Write(w io.Writer, rs []Result) {
	for _, r := range rs {
		line := fmt.Sprintf("%-4s %s", r.Status, r.Check)
		if r.Subject != "" {
			line += " " + r.Subject
		}
		line += ": " + r.Detail
		if r.Fix != "" && r.Status != OK {
			line += " -- fix: " + r.Fix
		}
		fmt.Fprintln(w, strings.ReplaceAll(line, "\n", " "))
	}
}

func ok(subject, format string, args ...any) Result {
	return Result{Subject: subject, Status: OK, Detail: fmt.Sprintf(format, args...)}
}

func warn(subject, fix, format string, args ...any) Result {
	return Result{Subject: subject, Status: Warn, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func fail(subject, fix, format string, args ...any) Result {
	return Result{Subject: subject, Status: Fail, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

// publish is the fix text for a missing or wrong record.
func publish(lines ...string) string {
	return "publish " + strings.Join(lines, " and ")
}
