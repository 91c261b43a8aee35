package engine

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/url"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // registers the charsets that RFC 2047 words and parts may use
)

// Body is the decoded content of a message: the text of its text parts, the
// URLs found in them, and its attachments.
type Body struct {
	Parts       []TextPart
	Text        string // text/plain parts and text/html reduced to text, joined
	HTML        bool
	URLs        []string
	URLDomains  []string
	Attachments []Attachment
	Defect      string // "" when the MIME structure was well formed
}

// TextPart is one decoded text/* part.
type TextPart struct {
	ContentType string // lower-case, e.g. text/html
	Text        string // decoded to UTF-8; for HTML, the markup itself
}

// Bounds that keep a hostile message from costing unbounded memory.
const (
	maxTextBytes = 1 << 20
	maxURLs      = 200
	maxParts     = 500
)

func parseBody(h *Header, raw []byte) *Body {
	b := &Body{}
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		// The header could not be read as MIME: keep the body as plain text.
		b.defect("unreadable MIME header: " + err.Error())
		if h.BodyOffset <= len(raw) {
			b.addText("text/plain", string(raw[h.BodyOffset:]))
		}
		b.finish()
		return b
	}
	if err != nil {
		b.defect(err.Error()) // unknown charset or encoding: the part is kept undecoded
	}
	count := 0
	werr := ent.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil {
			if message.IsUnknownCharset(err) || message.IsUnknownEncoding(err) {
				b.defect(err.Error())
			} else {
				return err
			}
		}
		count++
		if count > maxParts {
			return errors.New("too many MIME parts")
		}
		b.addPart(part)
		return nil
	})
	if werr != nil {
		b.defect("MIME structure: " + werr.Error())
	}
	b.finish()
	return b
}

func (b *Body) addPart(part *message.Entity) {
	if part.MultipartReader() != nil {
		return
	}
	ctype, params, err := part.Header.ContentType()
	if err != nil || ctype == "" {
		ctype = "text/plain"
	}
	ctype = strings.ToLower(ctype)
	disp, dparams, _ := part.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = decodeWords(name)
	data, rerr := io.ReadAll(io.LimitReader(part.Body, maxTextBytes+1))
	if rerr != nil {
		b.defect("reading a part: " + rerr.Error())
	}
	if strings.EqualFold(disp, "attachment") || (name != "" && !strings.HasPrefix(ctype, "text/")) ||
		!strings.HasPrefix(ctype, "text/") && !strings.HasPrefix(ctype, "message/") {
		b.Attachments = append(b.Attachments, Attachment{Name: name, ContentType: ctype, Size: len(data)})
		return
	}
	if strings.HasPrefix(ctype, "text/") {
		b.addText(ctype, string(data))
	}
}

func (b *Body) addText(ctype, text string) {
	b.Parts = append(b.Parts, TextPart{ContentType: ctype, Text: text})
	if ctype == "text/html" {
		b.HTML = true
		var hrefs []string
		text, hrefs = HTMLText(text)
		b.URLs = append(b.URLs, hrefs...)
	}
	if len(b.Text) < maxTextBytes {
		if b.Text != "" {
			b.Text += "\n"
		}
		b.Text += text
	}
}

func (b *Body) finish() {
	if len(b.Text) > maxTextBytes {
		b.Text = b.Text[:maxTextBytes]
	}
	b.URLs = append(b.URLs, findURLs(b.Text, maxURLs)...)
	seenURL := make(map[string]bool)
	seenDomain := make(map[string]bool)
	urls := b.URLs[:0]
	for _, u := range b.URLs {
		u = strings.TrimRight(u, ".,;:!?)")
		if seenURL[u] || len(urls) >= maxURLs {
			continue
		}
		seenURL[u] = true
		urls = append(urls, u)
		if d := URLHost(u); d != "" && !seenDomain[d] {
			seenDomain[d] = true
			b.URLDomains = append(b.URLDomains, d)
		}
	}
	b.URLs = urls
}

func (b *Body) defect(why string) {
	if b.Defect == "" {
		b.Defect = why
	}
}

// URLHost returns the lower-cased host of a URL ("www.x.org/..." counts as
// http), or "" when it has none.
func URLHost(raw string) string {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

// MediaType returns the lower-cased media type of a Content-Type value.
func MediaType(v string) string {
	t, _, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	return strings.ToLower(t)
}
