package arc

import (
	"bytes"
	"crypto/sha256"
	"strings"
)

// ARC signs and verifies with DKIM's canonicalizations (RFC 8617 section
// 4.1.2 and 4.1.3 refer to RFC 6376 section 3.4). go-msgauth implements
// them but keeps them unexported, bound to the DKIM-Signature field name,
// so they are written again here from RFC 6376 section 3.4.

// field is one raw header field: its name as written and the whole field
// with its folding, without the final CRLF.
type field struct {
	name string
	raw  string
}

// value is everything after the colon, folding included.
func (f field) value() string {
	_, v, _ := strings.Cut(f.raw, ":")
	return v
}

// split separates a CRLF message into its header fields (top to bottom)
// and its body. Lines that are not fields are skipped.
func split(raw []byte) ([]field, []byte) {
	var out []field
	pos := 0
	for pos < len(raw) {
		eol := bytes.Index(raw[pos:], []byte("\r\n"))
		if eol < 0 {
			eol = len(raw) - pos
		}
		next := min(pos+eol+2, len(raw))
		line := raw[pos : pos+eol]
		switch {
		case len(line) == 0:
			return out, raw[next:]
		case line[0] == ' ' || line[0] == '\t':
			if n := len(out); n > 0 {
				out[n-1].raw += "\r\n" + string(line)
			}
		default:
			if name, _, ok := strings.Cut(string(line), ":"); ok && name != "" {
				out = append(out, field{name: strings.TrimRight(name, " \t"), raw: string(line)})
			}
		}
		pos = next
	}
	return out, nil
}

// toCRLF gives a message stored with bare LF line ends the CRLF form it
// had on the wire; a message that has any CRLF is left alone.
func toCRLF(raw []byte) []byte {
	if bytes.Contains(raw, []byte("\r\n")) || !bytes.Contains(raw, []byte("\n")) {
		return raw
	}
	return bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
}

// canonHeader canonicalizes one field without a line end: "relaxed"
// (RFC 6376 section 3.4.2: lower-case name, unfolded, runs of whitespace
// made one space, none around the colon or at the end) or "simple" (as is).
func canonHeader(f field, relaxed bool) string {
	if !relaxed {
		return f.raw
	}
	name, value, _ := strings.Cut(f.raw, ":")
	value = strings.ReplaceAll(value, "\r\n", "")
	return strings.ToLower(strings.TrimRight(name, " \t")) + ":" + squeeze(value)
}

// squeeze replaces runs of spaces and tabs by one space and trims both ends.
func squeeze(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// bodyHash is the SHA-256 of the canonicalized body (RFC 6376 section
// 3.4.3 simple, 3.4.4 relaxed), cut to limit bytes when limit >= 0 (l=).
func bodyHash(body []byte, relaxed bool, limit int64) []byte {
	c := canonBody(body, relaxed)
	if limit >= 0 && int64(len(c)) > limit {
		c = c[:limit]
	}
	sum := sha256.Sum256(c)
	return sum[:]
}

func canonBody(body []byte, relaxed bool) []byte {
	lines := strings.Split(string(body), "\r\n")
	if relaxed {
		for i, l := range lines {
			lines[i] = strings.TrimRight(squeezeInner(l), " ")
		}
	}
	// Empty lines at the end are ignored. The split leaves one "" after
	// the final CRLF, so drop all trailing empties and add the end back.
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		if relaxed {
			return nil // an empty body is empty (RFC 6376 erratum 3192)
		}
		return []byte("\r\n")
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// squeezeInner makes every run of spaces and tabs one space, keeping the
// line's ends otherwise as they are.
func squeezeInner(s string) string {
	if !strings.ContainsAny(s, " \t") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// pickHeaders selects the fields named in h= the way RFC 6376 section
// 5.4.2 says: for each name, the last occurrence not yet used, going up
// the header; a name with no occurrence left contributes nothing.
func pickHeaders(fields []field, names []string) []field {
	used := make(map[int]bool)
	var out []field
	for _, n := range names {
		n = strings.TrimSpace(n)
		for i := len(fields) - 1; i >= 0; i-- {
			if !used[i] && strings.EqualFold(fields[i].name, n) {
				used[i] = true
				out = append(out, fields[i])
				break
			}
		}
	}
	return out
}
