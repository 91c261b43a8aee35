package engine

import (
	"net/netip"
	"strings"
	"sync"
)

// Envelope is what the SMTP session knows before and beside the message
// text: the connection, the authentication and the MAIL/RCPT commands.
type Envelope struct {
	IP       netip.Addr // client address; invalid when unknown
	HELO     string
	TLS      bool
	Listener string // smtp, submission, submissions, check, test
	Port     int
	AuthUser string // "" when the client did not authenticate
	MailFrom string // "" for the null sender <>
	Rcpt     []string
}

// Message is one message going through a pipeline: its envelope and, once
// DATA is in, its raw bytes. Parsing is lazy and done at most once; a
// malformed message still yields whatever could be parsed and never panics.
// A Message is safe for concurrent reads once Raw is set.
type Message struct {
	Envelope Envelope
	Raw      []byte // the message as received, nil before DATA

	headerOnce sync.Once
	header     *Header
	bodyOnce   sync.Once
	body       *Body
}

// NewMessage returns a message with the given envelope and raw bytes.
func NewMessage(env Envelope, raw []byte) *Message {
	return &Message{Envelope: env, Raw: raw}
}

// SetRaw sets the message text after DATA. It must be called before the
// header or body is first read.
func (m *Message) SetRaw(raw []byte) { m.Raw = raw }

// Header returns the parsed header, parsing it on first use.
func (m *Message) Header() *Header {
	m.headerOnce.Do(func() { m.header = parseHeader(m.Raw) })
	return m.header
}

// Body returns the decoded body (text, URLs, attachments), parsing the MIME
// structure on first use.
func (m *Message) Body() *Body {
	m.bodyOnce.Do(func() { m.body = parseBody(m.Header(), m.Raw) })
	return m.body
}

// domainOf returns the lower-cased domain of an address, "" if it has none.
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(addr[at+1:]), ".")
}

// DomainOf is the exported form used by stages and the domain() function.
func DomainOf(addr string) string { return domainOf(strings.Trim(addr, "<> ")) }
