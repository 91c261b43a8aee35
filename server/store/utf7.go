package store

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 (RFC 3501 section 5.1.3) is how IMAP, and Dovecot's
// Maildir++ layout on disk, spell mailbox names outside printable ASCII:
// "&" starts a base64 (with "," for "/") run of UTF-16BE ending in "-", and
// "&-" is a literal "&".

var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// errUTF7 reports a malformed modified UTF-7 name.
var errUTF7 = errors.New("invalid modified UTF-7")

// encodeUTF7 spells a UTF-8 name in modified UTF-7.
func encodeUTF7(s string) string {
	var b strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		buf := make([]byte, 0, 2*len(run))
		for _, u := range run {
			buf = append(buf, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = utf16.AppendRune(run, r)
	}
	flush()
	return b.String()
}

// decodeUTF7 turns a modified UTF-7 name into UTF-8. It rejects what
// RFC 3501 forbids (bare non-ASCII, control characters, padding, runs that
// encode printable ASCII, adjacent runs), so that each name has exactly one
// spelling and two spellings cannot alias one directory.
func decodeUTF7(s string) (string, error) {
	var b strings.Builder
	prevRun := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			prevRun = false
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errUTF7
		}
		enc := s[i+1 : i+1+end]
		i += end + 2
		if enc == "" {
			b.WriteByte('&')
			prevRun = false
			continue
		}
		if prevRun {
			return "", errUTF7
		}
		prevRun = true
		raw, err := mutf7.DecodeString(enc)
		if err != nil || len(raw)%2 != 0 || mutf7.EncodeToString(raw) != enc {
			return "", errUTF7
		}
		units := make([]uint16, len(raw)/2)
		for j := range units {
			units[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		for j := 0; j < len(units); j++ {
			u := units[j]
			var r rune
			switch {
			case utf16.IsSurrogate(rune(u)):
				if j+1 >= len(units) {
					return "", errUTF7
				}
				r = utf16.DecodeRune(rune(u), rune(units[j+1]))
				j++
				if r == utf8.RuneError {
					return "", errUTF7
				}
			case u >= 0x20 && u <= 0x7e:
				return "", errUTF7
			default:
				r = rune(u)
			}
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}
