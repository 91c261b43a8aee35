package sieve

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeEncoded expands the encoded-character forms ${hex:4a 4B} and
// ${unicode:263a} (RFC 5228 section 2.4.2.4). A malformed form stays as
// written, as the RFC asks; a code point that is not a character is an
// error.
func decodeEncoded(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		body := s[i+2 : i+end]
		dec, ok, err := decodeOne(body)
		if err != nil {
			return "", err
		}
		b.WriteString(s[:i])
		if ok {
			b.WriteString(dec)
			s = s[i+end+1:]
		} else {
			b.WriteString("${")
			s = s[i+2:]
		}
	}
}

func decodeOne(body string) (string, bool, error) {
	colon := strings.IndexByte(body, ':')
	if colon < 0 {
		return "", false, nil
	}
	kind := strings.ToLower(body[:colon])
	fields := strings.FieldsFunc(body[colon+1:], func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
	if kind != "hex" && kind != "unicode" {
		return "", false, nil
	}
	var b strings.Builder
	for _, f := range fields {
		if kind == "hex" {
			if len(f) != 2 {
				return "", false, nil
			}
			v, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return "", false, nil
			}
			b.WriteByte(byte(v))
			continue
		}
		v, err := strconv.ParseUint(f, 16, 32)
		if err != nil || len(f) > 8 {
			return "", false, nil
		}
		if v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
			return "", false, fmt.Errorf("invalid unicode character U+%X", v)
		}
		b.WriteRune(rune(v))
	}
	return b.String(), true, nil
}
