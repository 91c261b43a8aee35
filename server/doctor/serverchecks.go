package doctor

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/sluicemail/sluice/stages/dnsbl"
	"github.com/sluicemail/sluice/stages/resolver"
)

const notRunning = "start it: sluice serve --config FILE"

// checkCertificate: the certificate the MX listener serves over STARTTLS
// is valid for the hostname, its chain complete, and not expiring within
// 14 days.
func checkCertificate(ctx context.Context, env *Env) []Result {
	if env.SMTPAddr == "" {
		return []Result{warn(env.Hostname, notRunning, "no SMTP listener configured to fetch the certificate from")}
	}
	chain, err := peerChain(env.SMTPAddr, env.Hostname, env.Timeout)
	if err != nil {
		return []Result{warn(env.Hostname, notRunning, "could not get the certificate from %s: %v", env.SMTPAddr, err)}
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: env.Hostname, Roots: env.Roots, Intermediates: inter, CurrentTime: env.Now()})
	acme := "set tls.acme (email, and listen.http on port 80) for a certificate from Let's Encrypt"
	var he x509.HostnameError
	var ue x509.UnknownAuthorityError
	switch {
	case errors.As(verr, &he):
		return []Result{fail(env.Hostname, acme, "the certificate is for %s, not %s", strings.Join(leaf.DNSNames, ", "), env.Hostname)}
	case errors.As(verr, &ue) && leaf.Issuer.String() == leaf.Subject.String():
		return []Result{fail(env.Hostname, acme, "the certificate is self-signed: senders that check (MTA-STS enforce) and mail clients refuse it")}
	case errors.As(verr, &ue):
		return []Result{fail(env.Hostname, "serve the full chain (fullchain.pem, not cert.pem)", "the chain does not reach a trusted root (issuer %s): incomplete chain?", leaf.Issuer.CommonName)}
	case verr != nil:
		return []Result{fail(env.Hostname, acme, "the certificate does not validate: %v", verr)}
	}
	left := leaf.NotAfter.Sub(env.Now())
	if left < 14*24*time.Hour {
		return []Result{warn(env.Hostname, "renew it (ACME renews by itself; see the log for errors)", "the certificate expires in %s", left.Round(time.Hour))}
	}
	return []Result{ok(env.Hostname, "valid for %s until %s, issued by %s", env.Hostname, leaf.NotAfter.Format(time.DateOnly), leaf.Issuer.CommonName)}
}

// peerChain connects, says EHLO, STARTTLS and returns what the server
// presented.
func peerChain(addr, host string, timeout time.Duration) ([]*x509.Certificate, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(3 * timeout))
	c, err := smtp.NewClientStartTLS(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true})
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer c.Close()
	if err := c.Noop(); err != nil { // the handshake runs with the first command
		return nil, err
	}
	st, _ := c.TLSConnectionState()
	c.Quit()
	if len(st.PeerCertificates) == 0 {
		return nil, errors.New("no certificate presented")
	}
	return st.PeerCertificates, nil
}

// checkListeners: every configured listener accepts connections, on the
// public addresses too when they are this machine's.
func checkListeners(ctx context.Context, env *Env) []Result {
	var out []Result
	for _, kind := range []string{"smtp", "submission", "submissions", "imap", "imaps", "http", "https"} {
		addr := env.Listeners[kind]
		if addr == "" {
			continue
		}
		target := dialable(addr)
		c, err := net.DialTimeout("tcp", target, env.Timeout)
		if err != nil {
			out = append(out, fail(kind, notRunning+" (and check nothing else holds the port)", "nothing answers on %s: %v", target, err))
			continue
		}
		c.Close()
		out = append(out, ok(kind, "answers on %s", target))
	}
	return out
}

// dialable turns a wildcard listen address into one to connect to.
func dialable(addr string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch h {
	case "", "0.0.0.0":
		h = "127.0.0.1"
	case "::":
		h = "::1"
	}
	return net.JoinHostPort(h, p)
}

func portText(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "0"
	}
	return p
}

// checkOutbound: port 25 to the Internet is open (many home and cloud
// networks block it): the MX of OutboundDomain answers with a greeting.
func checkOutbound(ctx context.Context, env *Env) []Result {
	if env.Smarthost != "" {
		return probeGreeting(env.Smarthost, env.Timeout, "smarthost "+env.Smarthost, "check relay.smarthost")
	}
	if env.OutboundDomain == "" {
		return []Result{warn("", "", "no domain to test outbound port 25 against")}
	}
	mx, st, err := resolver.LookupMX(ctx, env.DNS, env.OutboundDomain)
	switch {
	case err != nil:
		return []Result{warn(env.OutboundDomain, "check your DNS servers answer", "MX lookup failed: %v", err)}
	case len(mx) == 0 || resolver.IsNullMX(mx):
		return []Result{warn(env.OutboundDomain, "give another domain with --outbound-test",
			"not tested: %s has no MX in this DNS (%s)", env.OutboundDomain, st)}
	}
	host := strings.TrimSuffix(mx[0].Host, ".")
	ips, _, _ := resolver.LookupIP(ctx, env.DNS, host)
	if len(ips) == 0 {
		return []Result{warn(host, "check your DNS servers answer", "no address for %s", host)}
	}
	addr := net.JoinHostPort(ips[0].String(), strconv.Itoa(env.OutboundPort))
	return probeGreeting(addr, env.Timeout, host, "port 25 outbound looks blocked: ask your provider to open it, or set relay.smarthost")
}

func probeGreeting(addr string, timeout time.Duration, subject, fix string) []Result {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return []Result{fail(subject, fix, "cannot connect to %s: %v", addr, err)}
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220") {
		return []Result{fail(subject, fix, "no SMTP greeting from %s: %q %v", addr, strings.TrimSpace(line), err)}
	}
	c.Write([]byte("QUIT\r\n"))
	return []Result{ok(subject, "%s answers: %s", addr, strings.TrimSpace(line))}
}

// checkDNSBL: no public address is on the block lists the rules use.
func checkDNSBL(ctx context.Context, env *Env) []Result {
	if len(env.DNSBLZones) == 0 {
		return []Result{ok("", "the rules query no IP block list")}
	}
	var out []Result
	for _, ip := range env.IPs {
		if !ip.IsGlobalUnicast() || ip.IsPrivate() {
			out = append(out, ok(ip.String(), "not a public address: block lists do not list it"))
			continue
		}
		out = append(out, listings(ctx, env, ip)...)
	}
	return out
}

func listings(ctx context.Context, env *Env, ip netip.Addr) []Result {
	var listed, failed []string
	for _, z := range env.DNSBLZones {
		addrs, st, err := resolver.LookupIP(ctx, env.DNS, dnsbl.IPQueryName(ip, z))
		switch {
		case err != nil && len(addrs) == 0:
			failed = append(failed, z)
		case st == resolver.Success && listedCode(addrs):
			listed = append(listed, fmt.Sprintf("%s (%s)", z, addrs[0]))
		}
	}
	var out []Result
	if len(listed) > 0 {
		out = append(out, fail(ip.String(), "ask each list for delisting (their web sites say how), after fixing the cause",
			"listed at %s: receivers using these lists refuse your mail", strings.Join(listed, ", ")))
	}
	if len(failed) > 0 {
		out = append(out, warn(ip.String(), "some lists refuse queries through public resolvers: use a local resolver",
			"no answer from %s", strings.Join(failed, ", ")))
	}
	if len(out) == 0 {
		out = append(out, ok(ip.String(), "not listed at %s", strings.Join(env.DNSBLZones, ", ")))
	}
	return out
}

// listedCode: a 127.0.0.0/8 answer is a listing, except the
// 127.255.255.0/24 codes lists use for refused queries (RFC 5782 section
// 2.1 leaves the codes to the list).
func listedCode(addrs []netip.Addr) bool {
	for _, a := range addrs {
		b := a.As16()
		if a.Is4() && b[12] == 127 && !(b[13] == 255 && b[14] == 255) {
			return true
		}
	}
	return false
}
