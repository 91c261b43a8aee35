package sieve

import (
	"bufio"
	"bytes"
	"mime"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// Message is the mail a script looks at: its header fields in order, its
// raw body and its size.
type Message struct {
	Header textproto.Header
	Body   []byte
	Size   int

	parts []mimePart // the MIME walk, done at the first body test
}

// ParseMessage reads a message. A header it cannot read is kept as far
// as it goes, so that a broken message still gets filtered.
func ParseMessage(raw []byte) *Message {
	br := bufio.NewReader(bytes.NewReader(raw))
	h, err := textproto.ReadHeader(br)
	m := &Message{Header: h, Size: len(raw)}
	if err != nil {
		return m
	}
	m.Body = bodyOf(raw)
	return m
}

// bodyOf returns what follows the first empty line.
func bodyOf(raw []byte) []byte {
	for off := 0; off < len(raw); {
		nl := bytes.IndexByte(raw[off:], '\n')
		if nl < 0 {
			return nil
		}
		line := raw[off : off+nl]
		off += nl + 1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return raw[off:]
		}
	}
	return nil
}

var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// headerValues returns the values of every field called name, unfolded,
// trimmed and with RFC 2047 encoded words decoded, as Pigeonhole
// compares them.
func (m *Message) headerValues(name string) []string {
	fields := m.fieldValues(name)
	for i, v := range fields {
		fields[i] = decodeHeader(v)
	}
	return fields
}

// fieldValues returns the values of the fields called name as they
// were written, folding included (go-message's own values lose the
// whitespace of continuation lines, which Pigeonhole keeps).
func (m *Message) fieldValues(name string) []string {
	var out []string
	fields := m.Header.FieldsByKey(name)
	for fields.Next() {
		raw, err := fields.Raw()
		if err != nil {
			out = append(out, fields.Value())
			continue
		}
		_, v, _ := strings.Cut(string(raw), ":")
		out = append(out, strings.TrimRight(v, "\r\n"))
	}
	return out
}

func decodeHeader(v string) string {
	v = unfold(v)
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	return strings.TrimSpace(v)
}

// unfold removes the line breaks of a folded field; a tab that began a
// continuation line becomes a space, as Dovecot reads headers.
func unfold(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	v = strings.ReplaceAll(v, "\r\n", "\n")
	v = strings.ReplaceAll(v, "\n\t", " ")
	return strings.ReplaceAll(v, "\n", "")
}

// rawHeaderValues returns the values unfolded but not decoded, for
// address parsing, which must see the encoded words in their place.
func (m *Message) rawHeaderValues(name string) []string {
	fields := m.fieldValues(name)
	for i, v := range fields {
		fields[i] = strings.TrimSpace(unfold(v))
	}
	return fields
}
