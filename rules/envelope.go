package rules

import (
	"net/netip"
	"regexp"
	"strings"

	"github.com/sluicemail/sluice/engine"
)

// receivedRe finds "from HELO (... [IP] ...)" in a Received field, the form
// Postfix, Exim, Sendmail and sluice write.
var receivedRe = regexp.MustCompile(`(?i)^\s*from\s+(\S+)\s+\(([^)]*)\)`)

var ipLiteralRe = regexp.MustCompile(`\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]`)

// DeriveEnvelope reconstructs the SMTP envelope a stored message arrived
// with, for dry runs of mail that has already been delivered: the client IP
// and HELO from the topmost Received field that carries an IP literal of a
// public address (hops from loopback and private networks are the user's
// own fetchmail, relays and LAN, not the client the MX saw), MAIL
// FROM from Return-Path, RCPT TO from Delivered-To, X-Original-To or To.
func DeriveEnvelope(m *engine.Message) engine.Envelope {
	h := m.Header()
	env := engine.Envelope{Listener: "check"}
	for _, rcv := range h.Values("Received") {
		helo, ip, ok := parseReceived(rcv)
		if ok {
			env.HELO, env.IP = helo, ip
			break
		}
	}
	if rp := h.Raw("Return-Path"); rp != "" {
		env.MailFrom = strings.Trim(strings.TrimSpace(rp), "<>")
	} else if from, _ := h.Addresses("From"); len(from) > 0 {
		env.MailFrom = from[0].Address
	}
	for _, name := range []string{"Delivered-To", "X-Original-To"} {
		if v := strings.Trim(strings.TrimSpace(h.Raw(name)), "<>"); v != "" {
			env.Rcpt = []string{strings.ToLower(v)}
			return env
		}
	}
	to, _ := h.Addresses("To")
	for _, a := range to {
		env.Rcpt = append(env.Rcpt, a.Address)
	}
	return env
}

func parseReceived(v string) (helo string, ip netip.Addr, ok bool) {
	m := receivedRe.FindStringSubmatch(v)
	if m == nil {
		return "", ip, false
	}
	lit := ipLiteralRe.FindStringSubmatch(m[2])
	if lit == nil {
		return "", ip, false
	}
	ip, err := netip.ParseAddr(lit[1])
	if err != nil {
		return "", ip, false
	}
	if ip = ip.Unmap(); ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
		return "", ip, false
	}
	return strings.Trim(m[1], "[]"), ip, true
}
