// Package envelope builds the IMAP ENVELOPE of a message (RFC 3501
// section 7.4.2) from its header, with an RFC 5322 address parser that
// keeps what IMAP clients and Dovecot's imaptest expect and the usual
// mail libraries drop: groups (as start and end markers), source routes
// (the obsolete "<@route:user@domain>"), and a comment as the name of an
// address that has none ("user@domain (Real Name)").
package envelope

import (
	"mime"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/charset"
)

// wordDecoder decodes RFC 2047 encoded words in display names.
var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// ParseAddressList parses an address-list header value. It never fails:
// what cannot be read as an address is skipped up to the next comma, so
// one broken address does not hide the others.
func ParseAddressList(s string) []imap.Address {
	p := &parser{s: s}
	var out []imap.Address
	for {
		p.skipCFWS()
		if p.eof() {
			return out
		}
		if p.peek() == ',' {
			p.pos++
			continue
		}
		start := p.pos
		addrs, ok := p.address()
		if !ok {
			p.pos = start
			p.skipTo(',')
			continue
		}
		out = append(out, addrs...)
	}
}

type parser struct {
	s   string
	pos int
	// comment is the text of the last comment skipped, the name of an
	// address written "user@domain (Name)".
	comment string
}

func (p *parser) eof() bool  { return p.pos >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.pos] }

func (p *parser) skipTo(c byte) {
	for !p.eof() && p.peek() != c {
		switch p.peek() {
		case '"':
			p.quoted()
		case '(':
			p.skipComment()
		default:
			p.pos++
		}
	}
}

// skipCFWS skips white space and comments, remembering the last comment.
func (p *parser) skipCFWS() {
	for !p.eof() {
		switch p.peek() {
		case ' ', '\t', '\r', '\n':
			p.pos++
		case '(':
			p.skipComment()
		default:
			return
		}
	}
}

func (p *parser) skipComment() {
	depth := 0
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		p.pos++
		switch {
		case c == '\\' && !p.eof():
			b.WriteByte(p.peek())
			p.pos++
			continue
		case c == '(':
			depth++
			if depth == 1 {
				continue
			}
		case c == ')':
			depth--
			if depth == 0 {
				p.comment = strings.TrimSpace(b.String())
				return
			}
		}
		b.WriteByte(c)
	}
	p.comment = strings.TrimSpace(b.String())
}

// isAtext is RFC 5322 atext plus '.', which obsolete phrases allow.
func isAtext(c byte) bool {
	if c >= 0x80 {
		return true // UTF-8 in headers (RFC 6532)
	}
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>[]:;@\,"`, rune(c))
}

func (p *parser) atom() string {
	start := p.pos
	for !p.eof() && isAtext(p.peek()) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// quoted reads a quoted string (at its opening quote) and returns its
// content without the quoting.
func (p *parser) quoted() string {
	p.pos++
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		p.pos++
		switch c {
		case '\\':
			if !p.eof() {
				b.WriteByte(p.peek())
				p.pos++
			}
		case '"':
			return b.String()
		case '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// word reads an atom or a quoted string after CFWS; ok is false if there
// is neither.
func (p *parser) word() (w string, quoted, ok bool) {
	p.skipCFWS()
	if p.eof() {
		return "", false, false
	}
	if p.peek() == '"' {
		return p.quoted(), true, true
	}
	if a := p.atom(); a != "" {
		return a, false, true
	}
	return "", false, false
}

// phrase reads words up to the next special: a display name, a group
// name, or the local part of an address (when '@' follows).
func (p *parser) phrase() []string {
	var words []string
	for {
		save := p.pos
		w, _, ok := p.word()
		if !ok {
			p.pos = save
			return words
		}
		words = append(words, w)
	}
}

// address reads a mailbox or a group.
func (p *parser) address() ([]imap.Address, bool) {
	p.comment = ""
	save := p.pos
	words := p.phrase()
	p.skipCFWS()
	if p.eof() {
		// A bare word without '@': RFC 822 allowed a local user name.
		if len(words) == 1 {
			return []imap.Address{{Mailbox: words[0], Host: missingHost}}, true
		}
		return nil, false
	}
	switch p.peek() {
	case ':': // group
		p.pos++
		name := decodeName(strings.Join(words, " "))
		var group []imap.Address
		if name != "" { // a nameless group would look like a group end
			group = append(group, imap.Address{Mailbox: name})
		}
		for {
			p.skipCFWS()
			if p.eof() {
				break
			}
			if c := p.peek(); c == ';' {
				p.pos++
				break
			} else if c == ',' {
				p.pos++
				continue
			}
			start := p.pos
			m, ok := p.mailbox()
			if !ok {
				p.pos = start
				for !p.eof() && p.peek() != ',' && p.peek() != ';' {
					p.pos++
				}
				continue
			}
			if m.Mailbox != "" {
				group = append(group, m)
			}
		}
		if name != "" {
			group = append(group, imap.Address{})
		}
		return group, true
	case '<':
		p.pos++
		a, ok := p.angleAddr()
		if !ok {
			return nil, false
		}
		if a.Mailbox == "" { // "<>"
			return nil, true
		}
		a.Name = decodeName(strings.Join(words, " "))
		return []imap.Address{a}, true
	}
	p.pos = save
	m, ok := p.mailbox()
	if !ok {
		return nil, false
	}
	return []imap.Address{m}, true
}

// mailbox reads name-addr or addr-spec.
func (p *parser) mailbox() (imap.Address, bool) {
	p.comment = ""
	words := p.phrase()
	p.skipCFWS()
	if !p.eof() && p.peek() == '<' {
		p.pos++
		a, ok := p.angleAddr()
		a.Name = decodeName(strings.Join(words, " "))
		return a, ok
	}
	if len(words) == 0 {
		return imap.Address{}, false
	}
	// addr-spec: an atom keeps its dots, so the words are the local
	// part (several only in the obsolete form with spaces).
	local := strings.Join(words, " ")
	host := missingHost
	if !p.eof() && p.peek() == '@' {
		p.pos++
		host = p.domain()
	}
	p.comment = ""
	p.skipCFWS() // "user@domain (Real Name)"
	return imap.Address{Name: decodeName(p.comment), Mailbox: local, Host: host}, true
}

// angleAddr reads "[route:]addr-spec>" after '<'.
func (p *parser) angleAddr() (imap.Address, bool) {
	var a imap.Address
	p.skipCFWS()
	if !p.eof() && p.peek() == '@' { // obs-route: "@a,@b:"
		start := p.pos
		for !p.eof() && p.peek() != ':' && p.peek() != '>' {
			p.pos++
		}
		if p.eof() || p.peek() != ':' {
			return a, false
		}
		a.Route = strings.Join(strings.Fields(p.s[start:p.pos]), "")
		p.pos++
	}
	p.skipCFWS()
	if !p.eof() && p.peek() == '>' { // "<>", the null sender
		p.pos++
		return a, true
	}
	a.Mailbox = p.localPart()
	p.skipCFWS()
	a.Host = missingHost
	if !p.eof() && p.peek() == '@' {
		p.pos++
		a.Host = p.domain()
	}
	p.skipCFWS()
	if p.eof() || p.peek() != '>' {
		return a, false
	}
	p.pos++
	return a, a.Mailbox != ""
}

// localPart reads dot-separated words, with CFWS allowed around them.
func (p *parser) localPart() string {
	var b strings.Builder
	for {
		w, _, ok := p.word()
		if !ok {
			break
		}
		b.WriteString(w)
		p.skipCFWS()
		if p.eof() || p.peek() != '.' {
			break
		}
		b.WriteByte('.')
		p.pos++
	}
	return b.String()
}

// domain reads a dot-atom or a domain literal after '@'.
func (p *parser) domain() string {
	p.skipCFWS()
	if !p.eof() && p.peek() == '[' {
		start := p.pos
		for !p.eof() && p.peek() != ']' {
			p.pos++
		}
		if !p.eof() {
			p.pos++
		}
		return p.s[start:p.pos]
	}
	var b strings.Builder
	for {
		p.skipCFWS()
		a := p.atom()
		if a == "" {
			break
		}
		b.WriteString(a)
		save := p.pos
		p.skipCFWS()
		if p.eof() || p.peek() != '.' {
			p.pos = save
			break
		}
		b.WriteByte('.')
		p.pos++
	}
	if b.Len() == 0 {
		return missingHost
	}
	return b.String()
}

// missingHost is what Dovecot puts for an address without a domain, so
// that it is not mistaken for a group marker (a nil host).
const missingHost = "MISSING_DOMAIN"

func decodeName(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "=?") {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			return d
		}
	}
	return s
}
