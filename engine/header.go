package engine

import (
	"bytes"
	"mime"
	"net/mail"
	"regexp"
	"strings"

	"github.com/emersion/go-message/charset"
)

// Field is one header field as it appears in the message, unfolded but not
// decoded.
type Field struct {
	Name  string // as written
	Value string // unfolded, leading space trimmed
}

// Header is the parsed header block of a message (RFC 5322 section 2.2).
// Parsing is tolerant: lines that are not fields are skipped and counted as
// a defect, never a failure.
type Header struct {
	Fields     []Field
	BodyOffset int    // index in Raw where the body starts
	Defect     string // "" when the header block is well formed

	index map[string][]int // lower-case name -> positions in Fields
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// maxHeaderFields bounds the work a hostile header block can cause.
const maxHeaderFields = 10000

// parseHeader splits raw into header fields. It accepts CRLF and bare LF line
// ends, and stops at the first empty line.
func parseHeader(raw []byte) *Header {
	h := &Header{index: make(map[string][]int, 24)}
	if len(raw) == 0 {
		h.defect("empty message")
	}
	pos := 0
	for pos < len(raw) {
		end := bytes.IndexByte(raw[pos:], '\n')
		next := len(raw)
		line := raw[pos:]
		if end >= 0 {
			line = raw[pos : pos+end]
			next = pos + end + 1
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			h.BodyOffset = next
			return h
		}
		if line[0] == ' ' || line[0] == '\t' {
			if n := len(h.Fields); n > 0 {
				h.Fields[n-1].Value += " " + strings.TrimSpace(string(line))
			} else {
				h.defect("continuation line before the first field")
			}
			pos = next
			continue
		}
		h.addLine(line)
		pos = next
	}
	h.BodyOffset = len(raw)
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\n")) {
		h.defect("message ends inside the header")
	}
	return h
}

func (h *Header) addLine(line []byte) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
		h.defect("line without a field name")
		return
	}
	if len(h.Fields) >= maxHeaderFields {
		h.defect("too many header fields")
		return
	}
	name := string(line[:colon])
	value := strings.TrimSpace(string(line[colon+1:]))
	if strings.IndexByte(value, 0) >= 0 {
		h.defect("NUL byte in the header")
		value = strings.ReplaceAll(value, "\x00", "")
	}
	key := strings.ToLower(name)
	h.index[key] = append(h.index[key], len(h.Fields))
	h.Fields = append(h.Fields, Field{Name: name, Value: value})
}

func (h *Header) defect(why string) {
	if h.Defect == "" {
		h.Defect = why
	}
}

// Raw returns the first undecoded value of the named field, "" if absent.
func (h *Header) Raw(name string) string {
	if ix := h.index[strings.ToLower(name)]; len(ix) > 0 {
		return h.Fields[ix[0]].Value
	}
	return ""
}

// Has reports whether the named field is present.
func (h *Header) Has(name string) bool { return len(h.index[strings.ToLower(name)]) > 0 }

// Get returns the first value of the named field with RFC 2047 encoded
// words decoded (any charset go-message knows), "" if absent.
func (h *Header) Get(name string) string { return decodeWords(h.Raw(name)) }

// Values returns every decoded value of the named field, in order.
func (h *Header) Values(name string) []string {
	ix := h.index[strings.ToLower(name)]
	out := make([]string, len(ix))
	for i, j := range ix {
		out[i] = decodeWords(h.Fields[j].Value)
	}
	return out
}

func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// Address is a parsed mailbox: display name and lower-cased address.
type Address struct {
	Name    string
	Address string
}

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// looseAddr finds something address-like when strict parsing fails, so that
// a sloppy From header still yields a domain for the rules.
var looseAddr = regexp.MustCompile(`[^\s<>"(),;:]+@[^\s<>"(),;:]+`)

// Addresses parses an address-list field. ok is false when the field was not
// valid RFC 5322 and the addresses were recovered loosely.
func (h *Header) Addresses(name string) (addrs []Address, ok bool) {
	ok = true
	for _, v := range h.Values(name) {
		list, err := addrParser.ParseList(v)
		if err != nil {
			ok = false
			for _, a := range looseAddr.FindAllString(v, -1) {
				addrs = append(addrs, Address{Address: strings.ToLower(a)})
			}
			continue
		}
		for _, a := range list {
			addrs = append(addrs, Address{Name: a.Name, Address: strings.ToLower(a.Address)})
		}
	}
	return addrs, ok
}
