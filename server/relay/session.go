package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/server/tlsrpt"
	"golang.org/x/net/idna"
)

// connMode is how a connection is secured.
type connMode int

const (
	modeOpportunistic connMode = iota // STARTTLS when offered and working, else plain
	modePlain
	modeStartTLS
	modeImplicit
)

// target is one server to deliver to.
type target struct {
	host       string // name, for logs, TLS and DSNs
	addr       string // host:port to dial
	mode       connMode
	tls        *tls.Config
	user, pass string    // AUTH PLAIN when user is set
	check      *tlsCheck // MX delivery: the MTA-STS policy and the TLS outcome
	// requireTLS: the message asked for REQUIRETLS, so a host without
	// STARTTLS or with a certificate that does not verify cannot take it.
	requireTLS bool
}

// deliver runs one SMTP transaction with t. final is false when t gave no
// answer about the recipients (no connection, a failed greeting, EHLO or
// MAIL with a 4xx): the caller then tries the next host, and err says why.
func (c *Client) deliver(ctx context.Context, t target, from string, to []string, data []byte, p Params) (errs []error, final bool, err *Error) {
	cl, err := c.connect(ctx, t)
	if err != nil {
		return nil, false, err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()

	if t.user != "" {
		if err := cl.Auth(sasl.NewPlainClient("", t.user, t.pass)); err != nil {
			// A rejected login is the operator's to fix: keep the mail.
			e := classify(t.host, err)
			e.Permanent, e.Enhanced = false, ""
			return nil, false, e
		}
	}
	from, to = asciiDomain(from), asciiDomains(to)
	opts, oerr := mailOptions(cl, t.host, from, to, data, p)
	if oerr != nil {
		// This host cannot take the message as its parameters demand;
		// another host of the domain may.
		cl.Quit()
		return fill(len(to), oerr), false, oerr
	}
	if err := cl.Mail(from, opts); err != nil {
		e := classify(t.host, err)
		return fill(len(to), e), e.Permanent, e
	}
	errs = make([]error, len(to))
	var accepted []int
	for i, r := range to {
		if err := cl.Rcpt(r, nil); err != nil {
			errs[i] = classify(t.host, err)
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		cl.Quit()
		return errs, true, nil
	}
	if err := c.sendData(cl, data); err != nil {
		e := classify(t.host, err)
		for _, i := range accepted {
			errs[i] = e
		}
		return errs, true, nil
	}
	cl.Quit()
	c.log.Debug("relayed", "host", t.host, "addr", t.addr, "rcpts", len(accepted))
	return errs, true, nil
}

func (c *Client) sendData(cl *smtp.Client, data []byte) error {
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// connect dials t and says EHLO, upgrading to TLS as t.mode asks. In
// opportunistic mode a server that does not offer STARTTLS, or whose TLS
// handshake fails, is reached again in plain text.
func (c *Client) connect(ctx context.Context, t target) (*smtp.Client, *Error) {
	conn, err := c.dial.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, temporary(t.host, err)
	}
	var cl *smtp.Client
	switch t.mode {
	case modePlain:
		cl = smtp.NewClient(conn)
	case modeImplicit:
		cl = smtp.NewClient(tls.Client(conn, t.tls))
	case modeStartTLS, modeOpportunistic:
		cl, err = smtp.NewClientStartTLS(conn, t.tls)
		if err != nil && t.requireTLS && (noTLS(err) || isTLSErr(err)) {
			// No STARTTLS, or a certificate that does not verify: this
			// host can never take a REQUIRETLS message (RFC 8689).
			return nil, permanent(t.host, "5.7.30", fmt.Errorf("REQUIRETLS: %w", err))
		}
		if err != nil && t.mode == modeOpportunistic && noTLS(err) {
			return c.fallBack(ctx, t, "no STARTTLS", err)
		}
		if err != nil && t.mode == modeOpportunistic && isTLSErr(err) {
			return c.fallBack(ctx, t, "TLS handshake failed", err)
		}
		if err != nil {
			return nil, classify(t.host, err)
		}
	}
	c.setTimeouts(cl)
	if err := cl.Hello(c.opts.Hostname); err != nil {
		cl.Close()
		if t.requireTLS && isTLSErr(err) {
			return nil, permanent(t.host, "5.7.30", fmt.Errorf("REQUIRETLS: %w", err))
		}
		if t.mode == modeOpportunistic && isTLSErr(err) {
			return c.fallBack(ctx, t, "TLS handshake failed", err)
		}
		return nil, classify(t.host, err)
	}
	if t.mode == modeOpportunistic {
		_, tlsOn := cl.TLSConnectionState()
		c.reportSession(t, tlsOn)
	}
	return cl, nil
}

// fallBack reaches an MX host again in plain text after STARTTLS was
// missing or failed (opportunistic TLS, RFC 7435), unless an enforced
// MTA-STS policy forbids it; either way the failure is reported.
func (c *Client) fallBack(ctx context.Context, t target, what string, err error) (*smtp.Client, *Error) {
	if noTLS(err) {
		c.report(t.check.result(tlsrpt.StartTLSNotSupported, t.host, ipOf(t.addr), ""))
	} else {
		c.reportTLSError(t, err)
	}
	if t.check.enforce() {
		return nil, temporary(t.host, fmt.Errorf("MTA-STS policy of %s (enforce): %s: %w", t.check.domain, what, err))
	}
	c.log.Info(what+", sending in plain text", "host", t.host, "err", err)
	return c.connect(ctx, target{host: t.host, addr: t.addr, mode: modePlain})
}

func (c *Client) setTimeouts(cl *smtp.Client) {
	cl.CommandTimeout = c.opts.CommandTimeout
	cl.SubmissionTimeout = c.opts.DataTimeout
}

// noTLS reports an error from NewClientStartTLS that means "no usable
// STARTTLS": not offered, or refused with a reply.
func noTLS(err error) bool {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		// 454: TLS not available (RFC 3207 section 4); any other reply is
		// a failed greeting or EHLO, the host's failure and not TLS's.
		return se.Code == 454
	}
	return strings.Contains(err.Error(), "STARTTLS")
}

func isTLSErr(err error) bool {
	var re tls.RecordHeaderError
	var ae tls.AlertError
	var ve *tls.CertificateVerificationError
	var oe *net.OpError
	var he x509.HostnameError
	var ue x509.UnknownAuthorityError
	var ie x509.CertificateInvalidError
	if errors.As(err, &he) || errors.As(err, &ue) || errors.As(err, &ie) { // from our verifier
		return true
	}
	return errors.As(err, &re) || errors.As(err, &ae) || errors.As(err, &ve) ||
		strings.Contains(err.Error(), "tls:") || (errors.As(err, &oe) && strings.Contains(oe.Error(), "tls"))
}

// asciiDomain writes the domain of addr as an A-label (RFC 5891), so that
// an address whose local part is ASCII needs no SMTPUTF8.
func asciiDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	d, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil {
		return addr
	}
	return addr[:at+1] + d
}

func asciiDomains(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = asciiDomain(a)
	}
	return out
}

// needsUTF8 reports whether an address needs SMTPUTF8 (RFC 6531).
func needsUTF8(from string, to []string) bool {
	for _, s := range append([]string{from}, to...) {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return true
			}
		}
	}
	return false
}
