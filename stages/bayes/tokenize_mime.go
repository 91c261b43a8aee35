package bayes

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // the charsets text parts come in
)

// textPart is one decoded text part of a message.
type textPart struct {
	ctype string // lower-case, e.g. text/html
	text  string // decoded to UTF-8
}

// mimeParts is what the tokenizer needs of the MIME structure.
type mimeParts struct {
	texts       []textPart
	attachments []string // content types of the other leaf parts
	defect      bool
}

// maxLeafParts bounds the parts looked at in one message.
const maxLeafParts = 100

// partPool recycles the buffers text parts are read into; one larger than
// maxPooledPart (a rare huge part) is left to the collector instead.
var partPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledPart = 64 << 10

var errTooManyParts = errors.New("too many MIME parts")

// parseParts decodes the text parts of raw (RFC 2045–2047: transfer
// encodings and charsets, through go-message). It does its own walk instead
// of engine.Body because it needs neither Body's HTML-to-text pass nor its
// URL search: the tokenizer reads the HTML and the URLs itself, and doing
// it twice cost a quarter of classification time.
func parseParts(raw []byte, budget int) mimeParts {
	var mp mimeParts
	ent, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		mp.defect = true
		if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
			raw = raw[i+2:]
		} else if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
			raw = raw[i+4:]
		}
		mp.texts = append(mp.texts, textPart{ctype: "text/plain", text: string(raw[:min(len(raw), budget)])})
		return mp
	}
	if err != nil {
		mp.defect = true
	}
	leaves := 0
	werr := ent.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			if !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
				return err
			}
			mp.defect = true
		}
		if part.MultipartReader() != nil {
			return nil
		}
		if leaves++; leaves > maxLeafParts {
			return errTooManyParts
		}
		ctype, _, cerr := part.Header.ContentType()
		if cerr != nil || ctype == "" {
			ctype = "text/plain"
		}
		ctype = strings.ToLower(ctype)
		disp, _, _ := part.Header.ContentDisposition()
		if !strings.HasPrefix(ctype, "text/") || strings.EqualFold(disp, "attachment") {
			mp.attachments = append(mp.attachments, ctype)
			return nil
		}
		if budget <= 0 {
			return nil
		}
		// Read into a pooled buffer: the text is copied into a string
		// anyway, and io.ReadAll's growing slices were garbage per part.
		buf := partPool.Get().(*bytes.Buffer)
		buf.Reset()
		_, rerr := buf.ReadFrom(io.LimitReader(part.Body, int64(budget)))
		if rerr != nil {
			mp.defect = true
		}
		budget -= buf.Len()
		mp.texts = append(mp.texts, textPart{ctype: ctype, text: buf.String()})
		if buf.Cap() <= maxPooledPart {
			partPool.Put(buf)
		}
		return nil
	})
	if werr != nil {
		mp.defect = true
	}
	return mp
}
