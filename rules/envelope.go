package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicemail/sluice/engine"
)

// DeriveOptions say which Received fields describe our own plumbing
// rather than the client the MX saw.
type DeriveOptions struct {
	// TrustedHops is how many Received fields with a client to skip
	// first: the internal relays the mail passed after the MX (a content
	// filter re-injecting on 127.0.0.1, a second MTA). LMTP hand-offs and
	// fields without a from clause are skipped anyway and not counted.
	TrustedHops int
	// TrustedNets: after TrustedHops, a hop whose client is in one of
	// these networks is skipped too.
	TrustedNets []netip.Prefix
}

// Derivation is an envelope rebuilt from a stored message, with where
// each field came from (for `sluice check --facts`).
type Derivation struct {
	Envelope engine.Envelope
	// Sources maps a fact ("conn.ip", "conn.helo", "envelope.mail_from",
	// "envelope.rcpt") to where its value was found; a field left empty
	// has no entry.
	Sources map[string]string
}

// DeriveEnvelope is Derive with no trusted hops.
func DeriveEnvelope(m *engine.Message) engine.Envelope {
	return Derive(m, DeriveOptions{}).Envelope
}

// Derive reconstructs the SMTP envelope a stored message arrived with, for
// dry runs of mail that has already been delivered. The client IP and HELO
// come from the topmost Received field written by the receiving server
// (see ParseReceived for the layouts), whatever the address: a client on
// the LAN or on loopback is what the server saw, and a rule on private
// networks must see it too. LMTP hand-offs (the MTA giving the message to
// Dovecot) and fields without a client are passed over; opts skips
// internal relays. MAIL FROM is Return-Path, else the hop's envelope-from
// comment, else From; RCPT TO is the hop's "for", else X-Original-To,
// Delivered-To, or To.
func Derive(m *engine.Message, opts DeriveOptions) Derivation {
	h := m.Header()
	d := Derivation{Envelope: engine.Envelope{Listener: "check"}, Sources: map[string]string{}}
	hop, n, found := receivingHop(h.Values("Received"), opts)
	if found {
		at := fmt.Sprintf("Received #%d (%s layout)", n, hop.Format)
		if hop.IP.IsValid() {
			d.Envelope.IP, d.Sources["conn.ip"] = hop.IP, at
		}
		if hop.HELO != "" {
			d.Envelope.HELO, d.Sources["conn.helo"] = hop.HELO, at
		}
		if hop.For != "" {
			d.Envelope.Rcpt, d.Sources["envelope.rcpt"] = []string{hop.For}, `the "for" of `+at
		}
	}
	d.sender(h, hop)
	if len(d.Envelope.Rcpt) == 0 {
		d.recipients(h)
	}
	return d
}

// receivingHop returns the Received field that records the client of the
// receiving server, and its position (1 is the topmost field).
func receivingHop(fields []string, opts DeriveOptions) (Received, int, bool) {
	skip := opts.TrustedHops
	for i, v := range fields {
		r, ok := ParseReceived(v)
		if !ok || r.LMTP() {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if r.IP.IsValid() && inAny(r.IP, opts.TrustedNets) {
			continue
		}
		return r, i + 1, true
	}
	return Received{}, 0, false
}

func inAny(ip netip.Addr, nets []netip.Prefix) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func (d *Derivation) sender(h *engine.Header, hop Received) {
	if rp := h.Raw("Return-Path"); rp != "" {
		d.Envelope.MailFrom, d.Sources["envelope.mail_from"] = strings.Trim(strings.TrimSpace(rp), "<>"), "Return-Path"
		return
	}
	if hop.EnvelopeFrom != "" {
		d.Envelope.MailFrom, d.Sources["envelope.mail_from"] = hop.EnvelopeFrom, "Received envelope-from"
		return
	}
	if from, _ := h.Addresses("From"); len(from) > 0 {
		d.Envelope.MailFrom, d.Sources["envelope.mail_from"] = from[0].Address, "From (no Return-Path)"
	}
}

func (d *Derivation) recipients(h *engine.Header) {
	for _, name := range []string{"X-Original-To", "Delivered-To"} {
		if v := strings.Trim(strings.TrimSpace(h.Raw(name)), "<>"); v != "" {
			d.Envelope.Rcpt, d.Sources["envelope.rcpt"] = []string{strings.ToLower(v)}, name
			return
		}
	}
	to, _ := h.Addresses("To")
	for _, a := range to {
		d.Envelope.Rcpt = append(d.Envelope.Rcpt, a.Address)
	}
	if len(to) > 0 {
		d.Sources["envelope.rcpt"] = "To (no trace field names it)"
	}
}
