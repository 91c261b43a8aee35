package relay

import (
	"bytes"
	"crypto/tls"
	"errors"
	"strings"

	"github.com/emersion/go-smtp"
)

// Params are the MAIL FROM parameters a message arrived with that bind
// how it may travel on: the relay honours them on every next hop and
// never quietly drops one.
type Params struct {
	// UTF8 is SMTPUTF8 (RFC 6531): the sender declared an internationalised
	// message. With UTF-8 in its header it goes only to a server that
	// offers SMTPUTF8 too (RFC 6531 section 3.4: no downgrade); a message
	// that turns out to be plain ASCII goes anywhere.
	UTF8 bool
	// RequireTLS is REQUIRETLS (RFC 8689): the next hop must be reached
	// over TLS with a certificate that verifies for its name, and must
	// offer REQUIRETLS itself, or the message is returned with 5.7.30.
	RequireTLS bool
}

// Replies we give ourselves when a host cannot take a message as its
// parameters demand.
var (
	errNoUTF8Addr   = errors.New("a non-ASCII address needs SMTPUTF8, which the server does not offer (RFC 6531 section 3.2)")
	errNoUTF8Header = errors.New("the message has UTF-8 header fields and was sent with SMTPUTF8, which the server does not offer (RFC 6531 section 3.4)")
	errNoVerified   = errors.New("REQUIRETLS: the connection is not TLS with a verified certificate (RFC 8689 section 4.1)")
	errNoRequireTLS = errors.New("REQUIRETLS: the server does not offer REQUIRETLS (RFC 8689 section 4.1)")
	errPlainHost    = errors.New("REQUIRETLS: the smarthost is configured without TLS (RFC 8689 section 4.1)")
)

// mailOptions returns the MAIL FROM parameters for this connection, or
// the permanent error that says why this host cannot take the message.
// The caller tries the domain's other hosts before giving up.
func mailOptions(cl *smtp.Client, host, from string, to []string, data []byte, p Params) (*smtp.MailOptions, *Error) {
	opts := &smtp.MailOptions{Size: int64(len(data))}
	if p.RequireTLS {
		if cs, ok := cl.TLSConnectionState(); !ok || len(cs.VerifiedChains) == 0 {
			return nil, permanent(host, "5.7.30", errNoVerified)
		}
		if ok, _ := cl.Extension("REQUIRETLS"); !ok {
			return nil, permanent(host, "5.7.30", errNoRequireTLS)
		}
		opts.RequireTLS = true
	}
	addrUTF8 := needsUTF8(from, to)
	headerUTF8 := p.UTF8 && !isASCII(headerBlock(data))
	if !addrUTF8 && !headerUTF8 {
		return opts, nil
	}
	if ok, _ := cl.Extension("SMTPUTF8"); !ok {
		if addrUTF8 {
			return nil, permanent(host, "5.6.7", errNoUTF8Addr)
		}
		return nil, permanent(host, "5.6.9", errNoUTF8Header)
	}
	opts.UTF8 = true
	return opts, nil
}

// verifiedTLS is the TLS configuration REQUIRETLS asks for: the
// certificate must verify for host, whatever the operator's opportunistic
// settings say.
func (c *Client) verifiedTLS(host string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.opts.TLSConfig != nil {
		cfg = c.opts.TLSConfig.Clone()
	}
	cfg.InsecureSkipVerify = false
	if cfg.ServerName == "" {
		cfg.ServerName = strings.TrimSuffix(host, ".")
	}
	return cfg
}

// headerBlock returns the header of a CRLF message (up to the blank line).
func headerBlock(data []byte) []byte {
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		return data[:i]
	}
	return data
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
