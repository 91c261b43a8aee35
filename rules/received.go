package rules

import (
	"net/netip"
	"strings"
)

// Received is what one Received field (RFC 5321 section 4.4) says of the
// hop it records: the client the receiving server saw, and that server.
type Received struct {
	HELO string     // the name the client gave in HELO, EHLO or LHLO
	IP   netip.Addr // the client's address, invalid when the field has none
	By   string     // the receiving server
	With string     // the protocol: ESMTP, ESMTPS, LMTP, UTF8SMTPSA...
	For  string     // the one recipient, when the field names it
	// EnvelopeFrom is the "(envelope-from <...>)" comment of Exim,
	// Sendmail and Dovecot, "" without one.
	EnvelopeFrom string
	// Format names the layout the field matched (postfix, exim, sendmail,
	// dovecot-lmtp, gmail, sluice, or rfc5321 for any other), for --facts.
	Format string
}

// LMTP reports whether the hop is an LMTP hand-off (RFC 2033): the MTA
// passing the message to the delivery agent, not a client of the MX.
func (r Received) LMTP() bool { return strings.HasPrefix(strings.ToUpper(r.With), "LMTP") }

// ParseReceived reads a Received field value. It understands the
// from/by/with/id/for clauses of RFC 5321 and the comments the common
// MTAs put in the from clause:
//
//	Postfix, Gmail: from HELO (RDNS [IP])           (RDNS "unknown" or "name.")
//	Sendmail:       from HELO (RDNS [IP]) or from HELO ([IP])
//	Exim:           from RDNS ([IP]:PORT helo=HELO) or from [IP] (port=P helo=HELO)
//	Dovecot LMTP:   from LHLO ([IP])
//	sluice:         from HELO (RDNS [IP]) or from HELO ([IP])
//
// ok is false when the field has no from clause (a "Received: by ..."
// of a local pickup or of Gmail's internal hops): it names no client.
func ParseReceived(v string) (r Received, ok bool) {
	toks := tokenize(receivedClauses(v))
	var fromComments []string
	fromSeen := false
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.comment {
			if fromSeen && r.By == "" {
				fromComments = append(fromComments, t.text)
			}
			if ef, ok := envelopeFrom(t.text); ok {
				r.EnvelopeFrom = ef
			}
			continue
		}
		next := ""
		if i+1 < len(toks) && !toks[i+1].comment {
			next = toks[i+1].text
		}
		switch strings.ToLower(t.text) {
		case "from":
			if !fromSeen && r.By == "" && next != "" {
				r.HELO, fromSeen = next, true
				i++
			}
		case "by":
			r.By = next
		case "with":
			r.With = next
		case "for":
			r.For = strings.Trim(next, "<>")
		}
	}
	if !fromSeen {
		return Received{}, false
	}
	r.fromClause(fromComments)
	r.Format = formatOf(r, toks)
	return r, true
}

// fromClause finds the client's address and, for Exim, its HELO in the
// comments after the from name.
func (r *Received) fromClause(comments []string) {
	if ip, ok := ipLiteral(r.HELO); ok && strings.HasPrefix(r.HELO, "[") {
		r.IP = ip // Exim without a verified name: "from [IP]"
	}
	for _, c := range comments {
		if ip, ok := ipLiteral(c); ok && !r.IP.IsValid() {
			r.IP = ip
		}
		for _, f := range strings.Fields(c) {
			if h, ok := strings.CutPrefix(f, "helo="); ok && h != "" {
				r.HELO = strings.TrimRight(h, ")")
			}
		}
	}
	r.HELO = strings.Trim(r.HELO, "[]")
}

// ipLiteral finds the first "[IP]" or "[IPv6:IP]" in s.
func ipLiteral(s string) (netip.Addr, bool) {
	for {
		open := strings.IndexByte(s, '[')
		if open < 0 {
			return netip.Addr{}, false
		}
		end := strings.IndexByte(s[open:], ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		lit := s[open+1 : open+end]
		if len(lit) > 5 && strings.EqualFold(lit[:5], "IPv6:") {
			lit = lit[5:]
		}
		if ip, err := netip.ParseAddr(lit); err == nil && ip.Zone() == "" {
			return ip.Unmap(), true
		}
		s = s[open+end:]
	}
}

func envelopeFrom(comment string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(comment), "envelope-from ")
	if !ok {
		return "", false
	}
	return strings.Trim(strings.TrimSpace(rest), "<>"), true
}

// formatOf names the MTA whose layout the field has, by the marks each
// leaves: a comment after "by", the protocol, an Exim "helo=".
func formatOf(r Received, toks []rtoken) string {
	var comments strings.Builder
	for _, t := range toks {
		if t.comment {
			comments.WriteString(t.text + "\n")
		}
	}
	c := comments.String()
	by := strings.ToLower(r.By)
	switch {
	case strings.Contains(c, "Postfix"):
		return "postfix"
	case strings.Contains(c, "Exim"):
		return "exim"
	case strings.Contains(c, "sluice"):
		return "sluice"
	case r.LMTP():
		return "dovecot-lmtp"
	case strings.HasSuffix(by, ".google.com") || strings.HasSuffix(by, ".gmail.com"):
		return "gmail"
	case strings.Contains(c, "version=") || sendmailVersion(c):
		return "sendmail"
	}
	return "rfc5321"
}

// sendmailVersion spots Sendmail's "($v/$Z)" comment, e.g. "(8.17.1/8.17.1)".
func sendmailVersion(comments string) bool {
	for _, line := range strings.Split(comments, "\n") {
		a, b, ok := strings.Cut(line, "/")
		if ok && a != "" && b != "" && strings.Trim(a, "0123456789.") == "" && strings.Trim(b, "0123456789.") == "" {
			return true
		}
	}
	return false
}

// receivedClauses unfolds the field and drops the date after the last
// ";" outside a comment.
func receivedClauses(v string) string {
	v = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(v)
	depth, cut := 0, len(v)
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ';':
			if depth == 0 {
				cut = i
			}
		}
	}
	return v[:cut]
}

// rtoken is a word or a whole (possibly nested) comment of a Received field.
type rtoken struct {
	text    string
	comment bool
}

// tokenize splits s into words and comments; an unclosed comment runs to
// the end.
func tokenize(s string) []rtoken {
	var out []rtoken
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
		case c == '(':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			out = append(out, rtoken{text: strings.TrimSpace(s[i+1 : min(j, len(s))]), comment: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' {
				j++
			}
			out = append(out, rtoken{text: s[i:j]})
			i = j
		}
	}
	return out
}
