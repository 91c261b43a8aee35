package sieve

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// The MIME walk the body test needs (RFC 5173 section 5): each part with
// its content type and its content decoded from the transfer encoding
// (and, for text, from its charset into UTF-8). A multipart's own text
// is its preamble and epilogue, as Pigeonhole gives it to :content
// "multipart".

// maxParts and maxDepth bound the walk over a hostile message.
const (
	maxParts = 500
	maxDepth = 20
)

type mimePart struct {
	ctype   string // type/subtype, lower case
	content []byte // decoded
}

// mimeParts lists the parts of a message, depth first.
func mimeParts(h textproto.Header, body []byte) []mimePart {
	var out []mimePart
	walkPart(h, body, 0, &out)
	return out
}

func walkPart(h textproto.Header, body []byte, depth int, out *[]mimePart) {
	if len(*out) >= maxParts || depth > maxDepth {
		return
	}
	ctype, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || ctype == "" {
		ctype, params = "text/plain", map[string]string{"charset": "us-ascii"}
	}
	if strings.HasPrefix(ctype, "multipart/") && params["boundary"] != "" {
		parts, outside := splitMultipart(body, params["boundary"])
		*out = append(*out, mimePart{ctype: ctype, content: outside})
		for _, p := range parts {
			br := bufio.NewReader(bytes.NewReader(p))
			ph, err := textproto.ReadHeader(br)
			if err != nil {
				continue
			}
			walkPart(ph, bodyOf(p), depth+1, out)
		}
		return
	}
	if ctype == "message/rfc822" {
		*out = append(*out, mimePart{ctype: ctype})
		br := bufio.NewReader(bytes.NewReader(body))
		if ih, err := textproto.ReadHeader(br); err == nil {
			walkPart(ih, bodyOf(body), depth+1, out)
		}
		return
	}
	content := transferDecode(h.Get("Content-Transfer-Encoding"), body)
	if strings.HasPrefix(ctype, "text/") {
		content = toUTF8(params["charset"], content)
	}
	*out = append(*out, mimePart{ctype: ctype, content: content})
}

// splitMultipart cuts body at its boundary lines and returns the parts
// and the text outside them (preamble and epilogue).
func splitMultipart(body []byte, boundary string) (parts [][]byte, outside []byte) {
	delim := []byte("--" + boundary)
	var cur []byte
	in, done := false, false
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line = body[:i+1]
		}
		body = body[len(line):]
		trimmed := bytes.TrimRight(line, " \t\r\n")
		switch {
		case !done && bytes.Equal(trimmed, append(delim, '-', '-')):
			if in {
				parts = append(parts, trimLastNewline(cur))
			}
			in, done, cur = false, true, nil
		case !done && bytes.Equal(trimmed, delim):
			if in {
				parts = append(parts, trimLastNewline(cur))
			}
			in, cur = true, nil
		case in:
			cur = append(cur, line...)
		default:
			outside = append(outside, line...)
		}
	}
	if in {
		parts = append(parts, cur)
	}
	return parts, outside
}

// trimLastNewline drops the line break that belongs to the next
// boundary (RFC 2046 section 5.1.1).
func trimLastNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func transferDecode(enc string, body []byte) []byte {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{src: body})
	case "quoted-printable":
		r = quotedprintable.NewReader(bytes.NewReader(body))
	default:
		return body
	}
	out, _ := io.ReadAll(r) // keep what decoded before an error
	return out
}

// base64Cleaner skips the line breaks and spaces base64 bodies hold.
type base64Cleaner struct {
	src []byte
}

func (c *base64Cleaner) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(c.src) > 0 {
		b := c.src[0]
		c.src = c.src[1:]
		if b == '\r' || b == '\n' || b == ' ' || b == '\t' {
			continue
		}
		p[n] = b
		n++
	}
	if n == 0 && len(c.src) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func toUTF8(cs string, b []byte) []byte {
	switch strings.ToLower(cs) {
	case "", "us-ascii", "utf-8", "utf8":
		return b
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return b
	}
	return out
}
