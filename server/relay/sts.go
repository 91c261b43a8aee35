package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sluicemail/sluice/server/mtasts"
	"github.com/sluicemail/sluice/server/tlsrpt"
)

// MTA-STS (RFC 8461 section 5) when relaying, and the TLS results that
// TLS-RPT (RFC 8460) reports. With a policy in enforce mode an MX host
// that the policy does not name is skipped, STARTTLS is required and the
// certificate must validate for the MX host name (RFC 8461 section 4.2);
// there is no fallback to plain text. In testing mode delivery goes on as
// without a policy, and the failures are only reported.

// PolicySource gives the MTA-STS policy of a recipient domain: nil for
// none, a *mtasts.FetchError when it is published but cannot be had.
// *mtasts.Fetcher implements it.
type PolicySource interface {
	Policy(ctx context.Context, domain string) (*mtasts.Policy, error)
}

// tlsCheck is what one connection's TLS came to.
type tlsCheck struct {
	domain    string
	policy    *mtasts.Policy // nil: none
	verifyErr error          // the certificate check, once the handshake ran
}

func (k *tlsCheck) enforce() bool {
	return k != nil && k.policy != nil && k.policy.Mode == mtasts.Enforce
}

// stsPolicy returns the policy to apply to domain, or nil. A published
// policy that cannot be fetched is reported and treated as none.
func (c *Client) stsPolicy(ctx context.Context, domain string) *mtasts.Policy {
	if c.opts.MTASTS == nil {
		return nil
	}
	p, err := c.opts.MTASTS.Policy(ctx, domain)
	var fe *mtasts.FetchError
	if errors.As(err, &fe) {
		c.report(tlsrpt.Result{PolicyDomain: domain, PolicyType: tlsrpt.PolicySTS, Failure: fe.Result, Reason: trimReason(fe.Err)})
	}
	if err != nil {
		c.log.Info("MTA-STS policy unavailable; delivering as without one", "domain", domain, "err", err)
		return nil
	}
	if p != nil && p.Mode == mtasts.None {
		return nil
	}
	return p
}

// mxAllowed checks host against the policy's mx patterns (RFC 8461
// section 4.1). A host outside them is reported; in enforce mode it is
// not used.
func (c *Client) mxAllowed(check *tlsCheck, host string) error {
	if check.policy == nil || check.policy.MatchMX(host) {
		return nil
	}
	c.report(check.result(tlsrpt.ValidationFailure, strings.TrimSuffix(host, "."), "", "mx-not-in-policy"))
	if !check.enforce() {
		c.log.Info("MX host not in the MTA-STS policy (testing mode: delivering anyway)", "domain", check.domain, "host", host)
		return nil
	}
	return fmt.Errorf("MX host %s is not in the MTA-STS policy of %s", strings.TrimSuffix(host, "."), check.domain)
}

// verifier checks the MX certificate during the handshake: it records
// the result in check and, in enforce mode, fails the handshake with it.
// Without a policy the check only feeds the report: opportunistic TLS
// takes any certificate (RFC 7435).
func (c *Client) verifier(check *tlsCheck, cfg *tls.Config, host string) func(tls.ConnectionState) error {
	roots := c.opts.TLSRoots
	if roots == nil {
		roots = cfg.RootCAs
	}
	// A TLSConfig given without InsecureSkipVerify asks for validation.
	strict := c.opts.TLSConfig != nil && !c.opts.TLSConfig.InsecureSkipVerify
	return func(cs tls.ConnectionState) error {
		check.verifyErr = verifyChain(cs, roots, host)
		if check.enforce() || strict {
			return check.verifyErr
		}
		return nil
	}
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: time.Now()})
	return err
}

// certFailure maps a certificate error to its TLS-RPT result type (RFC
// 8460 section 4.3.2.1).
func certFailure(err error) string {
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var ue x509.UnknownAuthorityError
	switch {
	case errors.As(err, &he):
		return tlsrpt.HostMismatch
	case errors.As(err, &ie) && ie.Reason == x509.Expired:
		return tlsrpt.Expired
	case errors.As(err, &ue):
		return tlsrpt.NotTrusted
	}
	return tlsrpt.ValidationFailure
}

// reportSession reports a connection that reached EHLO: TLS or not, and
// whether the certificate validated where a policy asks it to.
func (c *Client) reportSession(t target, tlsOn bool) {
	k := t.check
	if k == nil {
		return
	}
	failure, reason := "", ""
	switch {
	case !tlsOn:
		failure = tlsrpt.StartTLSNotSupported
	case k.policy != nil && k.verifyErr != nil:
		failure, reason = certFailure(k.verifyErr), trimReason(k.verifyErr)
	}
	c.report(k.result(failure, t.host, ipOf(t.addr), reason))
}

// reportTLSError reports a handshake that failed.
func (c *Client) reportTLSError(t target, err error) {
	if t.check == nil {
		return
	}
	failure := tlsrpt.ValidationFailure
	if t.check.verifyErr != nil {
		failure = certFailure(t.check.verifyErr)
	}
	c.report(t.check.result(failure, t.host, ipOf(t.addr), trimReason(err)))
}

func (k *tlsCheck) result(failure, mx, ip, reason string) tlsrpt.Result {
	r := tlsrpt.Result{PolicyDomain: k.domain, PolicyType: tlsrpt.PolicyNone, Failure: failure, ReceivingMX: mx, ReceivingIP: ip, Reason: reason}
	if p := k.policy; p != nil {
		r.PolicyType, r.MXHosts = tlsrpt.PolicySTS, p.MX
		for _, l := range strings.Split(strings.ReplaceAll(p.Text, "\r\n", "\n"), "\n") {
			if l != "" {
				r.PolicyString = append(r.PolicyString, l)
			}
		}
	}
	return r
}

func (c *Client) report(r tlsrpt.Result) {
	if c.opts.Reports != nil {
		c.opts.Reports(r)
	}
}

func ipOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

// trimReason keeps a failure-reason-code short: the error's last part.
func trimReason(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i > 12 {
		s = s[i+2:]
	}
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
