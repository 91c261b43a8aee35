package authres

import (
	"bytes"
	"strings"
)

const fieldName = "authentication-results"

// Strip removes from raw every Authentication-Results header field whose
// authserv-id is authservID (compared case-insensitively, a trailing dot
// ignored, written as a token or a quoted-string, after any comments and
// folding whitespace), as RFC 8601 section 5 requires of the border MTA.
// Every other byte, other fields and the body, is kept exactly; when
// nothing is removed raw itself is returned. Line ends may be CRLF or bare
// LF.
func Strip(raw []byte, authservID string) []byte {
	want := normalizeID(authservID)
	var out []byte // nil until the first removal
	kept := 0      // raw[:kept] is accounted for in out
	for pos := 0; pos < len(raw); {
		end := fieldEnd(raw, pos)
		if end == pos { // the empty line: the header ends here
			break
		}
		if claimsID(raw[pos:end], want) {
			if out == nil {
				out = make([]byte, 0, len(raw))
			}
			out = append(out, raw[kept:pos]...)
			kept = end
		}
		pos = end
	}
	if out == nil {
		return raw
	}
	return append(out, raw[kept:]...)
}

// fieldEnd returns the index after the header field starting at pos,
// continuation lines included; pos itself at the empty line that ends the
// header.
func fieldEnd(raw []byte, pos int) int {
	first := true
	for pos < len(raw) {
		line := raw[pos:]
		if first && (line[0] == '\n' || len(line) > 1 && line[0] == '\r' && line[1] == '\n') {
			return pos
		}
		if !first && line[0] != ' ' && line[0] != '\t' {
			return pos
		}
		first = false
		nl := bytes.IndexByte(line, '\n')
		if nl < 0 {
			return len(raw)
		}
		pos += nl + 1
	}
	return pos
}

// claimsID reports whether field is an Authentication-Results field whose
// authserv-id is want.
func claimsID(field []byte, want string) bool {
	colon := bytes.IndexByte(field, ':')
	if colon < 0 || len(field) < len(fieldName) || !strings.EqualFold(string(bytes.TrimRight(field[:colon], " \t")), fieldName) {
		return false
	}
	id, ok := authservID(string(field[colon+1:]))
	return ok && normalizeID(id) == want
}

func normalizeID(id string) string { return strings.TrimSuffix(strings.ToLower(id), ".") }

// authservID reads the authserv-id at the start of a field value: CFWS,
// then a token or a quoted-string (RFC 8601 section 2.2, value of RFC
// 2045).
func authservID(v string) (string, bool) {
	i := skipCFWS(v, 0)
	if i >= len(v) {
		return "", false
	}
	if v[i] == '"' {
		return quoted(v, i+1)
	}
	j := i
	for j < len(v) && !isSpecial(v[j]) {
		j++
	}
	return v[i:j], j > i
}

// skipCFWS skips whitespace, line breaks and nested comments.
func skipCFWS(v string, i int) int {
	depth := 0
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0, c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return i
		}
	}
	return i
}

// quoted reads a quoted-string body starting after its opening quote.
func quoted(v string, i int) (string, bool) {
	var b strings.Builder
	for ; i < len(v); i++ {
		switch c := v[i]; c {
		case '"':
			return b.String(), true
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		case '\r', '\n':
			// folding inside the quoted string
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// isSpecial ends a token: space, controls and the RFC 2045 tspecials.
func isSpecial(c byte) bool {
	return c <= ' ' || c == 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0
}
