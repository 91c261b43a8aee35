package imapserver

// sluice: CATENATE (RFC 4469). An APPEND message may be built from
// parts: TEXT literals and URLs of parts of messages already stored. The
// parts go to the session with the other messages of the command
// (SessionMultiAppend), which resolves the URLs after it has checked the
// mailbox, so that a missing mailbox gets TRYCREATE whatever the URLs.

import (
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// CatenatePart is one part of a CATENATE message: Text, or the URL of a
// stored message part.
type CatenatePart struct {
	Text []byte
	URL  string
}

// handleCatenateAppend reads an APPEND whose first message is a
// CATENATE list (the keyword already read); later messages may be
// literals or CATENATE lists too (MULTIAPPEND).
func (c *Conn) handleCatenateAppend(tag string, dec *imapwire.Decoder, session SessionMultiAppend, mailbox string, options *imap.AppendOptions, appendLimit int64) error {
	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)
	var msgs []AppendMessage
	var failed error // a part over the limit; the rest of the command is read first
	catenate := true
	for {
		msg := AppendMessage{Options: *options}
		var err error
		if catenate {
			msg.Parts, err = c.readCatenateParts(dec, appendLimit, &failed)
		} else {
			msg.Data, err = c.readAppendLiteral(dec, appendLimit, &failed)
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
		if !dec.SP() {
			break
		}
		options = &imap.AppendOptions{}
		if err := readAppendOptions(dec, options); err != nil {
			return err
		}
		var ext string
		catenate = false
		if dec.Atom(&ext) {
			if !strings.EqualFold(ext, "CATENATE") {
				return newClientBugError("Unknown APPEND data extension")
			}
			catenate = true
		}
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if failed != nil {
		return failed
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	data, err := session.AppendMulti(mailbox, msgs)
	if err != nil {
		return err
	}
	if err := c.poll("APPEND"); err != nil {
		return err
	}
	return c.writeMultiAppendOK(tag, data)
}

// readAppendOptions reads a message's [flag-list SP] [date-time SP].
func readAppendOptions(dec *imapwire.Decoder, options *imap.AppendOptions) error {
	hasFlagList, err := dec.List(func() error {
		flag, err := internal.ExpectFlag(dec)
		if err != nil {
			return err
		}
		options.Flags = append(options.Flags, flag)
		return nil
	})
	if err != nil {
		return err
	}
	if hasFlagList && !dec.ExpectSP() {
		return dec.Err()
	}
	t, err := internal.DecodeDateTime(dec)
	if err != nil {
		return err
	}
	if !t.IsZero() && !dec.ExpectSP() {
		return dec.Err()
	}
	options.Time = t
	return nil
}

// readCatenateParts reads SP "(" part *(SP part) ")".
func (c *Conn) readCatenateParts(dec *imapwire.Decoder, appendLimit int64, failed *error) ([]CatenatePart, error) {
	var parts []CatenatePart
	if !dec.ExpectSP() {
		return nil, dec.Err()
	}
	err := dec.ExpectList(func() error {
		var kind string
		if !dec.ExpectAtom(&kind) || !dec.ExpectSP() {
			return dec.Err()
		}
		switch strings.ToUpper(kind) {
		case "TEXT":
			b, err := c.readAppendLiteral(dec, appendLimit, failed)
			if err != nil {
				return err
			}
			parts = append(parts, CatenatePart{Text: b})
		case "URL":
			var url string
			if !dec.ExpectAString(&url) {
				return dec.Err()
			}
			parts = append(parts, CatenatePart{URL: url})
		default:
			return newClientBugError("CATENATE parts are TEXT or URL")
		}
		return nil
	})
	if err == nil && len(parts) == 0 {
		err = newClientBugError("CATENATE needs a part")
	}
	return parts, err
}

// readAppendLiteral reads one literal of an APPEND. One over the limit
// is skipped when the client sends it anyway (LITERAL+) and recorded in
// failed; a synchronising one is refused at once, since the client waits.
func (c *Conn) readAppendLiteral(dec *imapwire.Decoder, appendLimit int64, failed *error) ([]byte, error) {
	lit, nonSync, err := dec.ExpectLiteralReader()
	if err != nil {
		return nil, err
	}
	if lit.Size() > appendLimit || *failed != nil {
		if *failed == nil {
			*failed = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig,
				Text: fmt.Sprintf("Literals are limited to %v bytes for this command", appendLimit)}
		}
		if !nonSync {
			return nil, *failed
		}
		_, err := io.Copy(io.Discard, lit)
		return nil, err
	}
	if err := c.acceptLiteral(lit.Size(), nonSync); err != nil {
		return nil, err
	}
	return io.ReadAll(lit)
}

func (c *Conn) writeMultiAppendOK(tag string, data *MultiAppendData) error {
	c.countCommand(imap.StatusResponseTypeOK) // sluice: metrics
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom(tag).SP().Atom("OK").SP()
	if data != nil && len(data.UIDs) > 0 {
		enc.Special('[').Atom("APPENDUID").SP().Number(data.UIDValidity).SP().NumSet(data.UIDs).Special(']').SP()
	}
	enc.Text("APPEND completed")
	return enc.CRLF()
}
