package migrate

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// IMAPSource is the old server to copy mail from.
type IMAPSource struct {
	URL      string // imap://USER@HOST:PORT or imaps://USER@HOST:PORT
	Password string
	// Insecure skips certificate verification, and lets imap:// log in
	// without STARTTLS (a loopback or a trusted LAN only).
	Insecure bool
	// Timeout is how long the source may stay silent before the
	// connection is given up (idleconn.go); 0 is DefaultIMAPTimeout.
	Timeout time.Duration
}

// Dial connects to the source and logs in. imaps:// is TLS from the
// start; imap:// upgrades with STARTTLS, and without it refuses to send
// the password in clear unless Insecure is set.
func (s IMAPSource) Dial() (*imapclient.Client, string, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, "", fmt.Errorf("--from %q: %w", s.URL, err)
	}
	user := u.User.Username()
	if (u.Scheme != "imap" && u.Scheme != "imaps") || u.Host == "" || user == "" {
		return nil, "", fmt.Errorf("--from %q: want imap://USER@HOST:PORT or imaps://USER@HOST:PORT", s.URL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"imap": "143", "imaps": "993"}[u.Scheme])
	}
	opts := &imapclient.Options{TLSConfig: &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: s.Insecure}}
	var c *imapclient.Client
	if u.Scheme == "imaps" {
		c, err = s.dial(host, func(conn net.Conn) (*imapclient.Client, error) {
			tc := opts.TLSConfig.Clone()
			tc.NextProtos = []string{"imap"}
			t := tls.Client(conn, tc)
			if err := t.Handshake(); err != nil {
				return nil, err
			}
			return imapclient.New(t, opts), nil
		})
	} else {
		c, err = s.dial(host, func(conn net.Conn) (*imapclient.Client, error) { return imapclient.New(conn, opts), nil })
		if err == nil && c.Caps().Has(imap.CapStartTLS) {
			c.Close()
			c, err = s.dial(host, func(conn net.Conn) (*imapclient.Client, error) { return imapclient.NewStartTLS(conn, opts) })
		} else if err == nil && !s.Insecure {
			c.Close()
			return nil, "", fmt.Errorf("%s offers no STARTTLS: use imaps://, or --insecure to send the password in clear", host)
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("connecting to %s: %w", host, err)
	}
	if err := c.Login(user, s.Password).Wait(); err != nil {
		c.Close()
		return nil, "", fmt.Errorf("logging in to %s as %s: %w", host, user, err)
	}
	return c, u.Scheme + "://" + user + "@" + strings.ToLower(host), nil
}

// dial connects to host with the idle timeout under the client that
// start makes over the connection.
func (s IMAPSource) dial(host string, start func(net.Conn) (*imapclient.Client, error)) (*imapclient.Client, error) {
	idle := s.Timeout
	if idle <= 0 {
		idle = DefaultIMAPTimeout
	}
	conn, err := (&net.Dialer{Timeout: min(idle, 30*time.Second)}).Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	c, err := start(&idleConn{Conn: conn, idle: idle})
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// specialUse maps RFC 6154 attributes to sluice's mailboxes.
var specialUse = map[imap.MailboxAttr]string{
	imap.MailboxAttrSent: "Sent", imap.MailboxAttrDrafts: "Drafts", imap.MailboxAttrJunk: "Junk",
	imap.MailboxAttrTrash: "Trash", imap.MailboxAttrArchive: "Archive",
}

// personalPrefix is the prefix of the source's personal namespace (RFC
// 2342): "INBOX." on Courier, Cyrus and a Dovecot set up like them, where
// every folder is a child of INBOX. "" when there is none or the server
// does not say.
func personalPrefix(c *imapclient.Client) string {
	if !c.Caps().Has(imap.CapNamespace) {
		return ""
	}
	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Personal) == 0 {
		return ""
	}
	return ns.Personal[0].Prefix
}

// sourceMailbox names the sluice mailbox of a source folder: by its
// SPECIAL-USE attribute, else by name without the personal namespace's
// prefix (a source's "INBOX.Work" is sluice's "Work", a top-level folder
// as on the old server's clients, which hide the prefix), with the
// source's hierarchy delimiter turned into sluice's ".".
func sourceMailbox(l *imap.ListData, prefix string) string {
	for _, a := range l.Attrs {
		for attr, name := range specialUse {
			if strings.EqualFold(string(a), string(attr)) {
				return name
			}
		}
	}
	name := l.Mailbox
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	if n := len(prefix); n > 0 && len(name) > n && strings.EqualFold(name[:n], prefix) {
		name = name[n:]
	}
	if l.Delim != 0 && l.Delim != '.' {
		name = strings.ReplaceAll(name, string(l.Delim), ".")
	}
	return SpecialName(name)
}

func hasAttr(attrs []imap.MailboxAttr, want imap.MailboxAttr) bool {
	for _, a := range attrs {
		if strings.EqualFold(string(a), string(want)) {
			return true
		}
	}
	return false
}
