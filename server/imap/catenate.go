package imap

// CATENATE (RFC 4469): an APPEND built from TEXT parts and IMAP URLs
// (RFC 5092) of parts of the user's own stored messages, in the form
// clients use for forwarding without downloading:
//
//	/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=offset[.length]]
//
// optionally after imap://user@host. A URL that does not resolve fails
// the whole APPEND with NO [BADURL url].

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// catenate joins a message's parts, reading each URL's part.
func (s *session) catenate(parts []imapserver.CatenatePart) ([]byte, error) {
	var buf bytes.Buffer
	for _, p := range parts {
		if p.URL == "" {
			buf.Write(p.Text)
			continue
		}
		b, err := s.resolveURL(p.URL)
		if err != nil {
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode("BADURL " + quoteCode(p.URL)),
				Text: fmt.Sprintf("CATENATE URL: %v", err)}
		}
		buf.Write(b)
		if int64(buf.Len()) > int64(s.srv.opts.AppendLimit) {
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too large"}
		}
	}
	return buf.Bytes(), nil
}

// quoteCode keeps a URL usable inside a response code's brackets.
func quoteCode(u string) string {
	return strings.NewReplacer("]", "%5D", " ", "%20", "\r", "", "\n", "").Replace(u)
}

// imapURL is the part of a message an IMAP URL names.
type imapURL struct {
	mailbox  string
	validity uint32 // 0: not given
	uid      uint32
	section  imap.FetchItemBodySection
}

// parseIMAPURL parses the absolute path form of an IMAP URL.
func parseIMAPURL(raw string) (*imapURL, error) {
	rest := raw
	if i := strings.Index(strings.ToLower(rest), "imap://"); i == 0 {
		rest = rest[len("imap://"):]
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return nil, fmt.Errorf("no path")
		}
		rest = rest[slash:]
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, fmt.Errorf("not an absolute IMAP URL")
	}
	segs := strings.Split(rest[1:], "/")
	box, params, _ := strings.Cut(segs[0], ";")
	name, err := url.PathUnescape(box)
	if err != nil || name == "" {
		return nil, fmt.Errorf("bad mailbox")
	}
	u := &imapURL{mailbox: name}
	if params != "" {
		k, v, _ := strings.Cut(params, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !strings.EqualFold(k, "UIDVALIDITY") || err != nil {
			return nil, fmt.Errorf("bad mailbox parameter %q", params)
		}
		u.validity = uint32(n)
	}
	for _, seg := range segs[1:] {
		k, v, ok := strings.Cut(strings.TrimPrefix(seg, ";"), "=")
		if !ok || !strings.HasPrefix(seg, ";") {
			return nil, fmt.Errorf("bad segment %q", seg)
		}
		v, err := url.PathUnescape(v)
		if err != nil {
			return nil, err
		}
		switch strings.ToUpper(k) {
		case "UID":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("bad UID %q", v)
			}
			u.uid = uint32(n)
		case "SECTION":
			if err := parseSection(v, &u.section); err != nil {
				return nil, err
			}
		case "PARTIAL":
			off, length, hasLen := strings.Cut(v, ".")
			o, err1 := strconv.ParseInt(off, 10, 64)
			l, err2 := strconv.ParseInt(length, 10, 64)
			if err1 != nil || hasLen && (err2 != nil || l == 0) {
				return nil, fmt.Errorf("bad PARTIAL %q", v)
			}
			if !hasLen {
				l = 1 << 62
			}
			u.section.Partial = &imap.SectionPartial{Offset: o, Size: l}
		default:
			return nil, fmt.Errorf("unsupported URL part %q", k)
		}
	}
	if u.uid == 0 {
		return nil, fmt.Errorf("no UID")
	}
	return u, nil
}

// parseSection parses a section spec: part numbers, then HEADER, TEXT
// or MIME (HEADER.FIELDS is not supported in URLs here).
func parseSection(v string, sec *imap.FetchItemBodySection) error {
	for _, f := range strings.Split(v, ".") {
		if n, err := strconv.Atoi(f); err == nil && n > 0 && sec.Specifier == imap.PartSpecifierNone {
			sec.Part = append(sec.Part, n)
			continue
		}
		switch sp := imap.PartSpecifier(strings.ToUpper(f)); sp {
		case imap.PartSpecifierHeader, imap.PartSpecifierText, imap.PartSpecifierMIME:
			if sec.Specifier != imap.PartSpecifierNone || sp == imap.PartSpecifierMIME && len(sec.Part) == 0 {
				return fmt.Errorf("bad SECTION %q", v)
			}
			sec.Specifier = sp
		default:
			return fmt.Errorf("bad SECTION %q", v)
		}
	}
	return nil
}

// resolveURL reads the part an IMAP URL names from the user's mail.
func (s *session) resolveURL(raw string) ([]byte, error) {
	u, err := parseIMAPURL(raw)
	if err != nil {
		return nil, err
	}
	m, err := s.acct.Mailbox(u.mailbox)
	if err != nil {
		return nil, err
	}
	if u.validity != 0 && u.validity != m.Validity() {
		return nil, fmt.Errorf("UIDVALIDITY changed")
	}
	raw8, err := m.ReadMessage(u.uid)
	if err != nil {
		return nil, err
	}
	msg := store.CRLF(raw8)
	whole := u.section
	whole.Partial = nil
	if imapserver.ExtractBodySection(bytes.NewReader(msg), &whole) == nil {
		return nil, fmt.Errorf("no such section")
	}
	// A range past the end of an existing part is empty, not an error.
	return imapserver.ExtractBodySection(bytes.NewReader(msg), &u.section), nil
}
