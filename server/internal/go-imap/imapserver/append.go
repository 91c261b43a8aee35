package imapserver

import (
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// defaultAppendLimit is the default maximum size of an APPEND payload.
const defaultAppendLimit = 100 * 1024 * 1024 // 100MiB

func (c *Conn) handleAppend(tag string, dec *imapwire.Decoder) error {
	var (
		mailbox string
		options imap.AppendOptions
	)
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() {
		return dec.Err()
	}

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

	appendLimit := int64(defaultAppendLimit)
	if appendLimitSession, ok := c.session.(SessionAppendLimit); ok {
		appendLimit = int64(appendLimitSession.AppendLimit())
	}

	var dataExt string
	if !dec.Special('~') && dec.Atom(&dataExt) { // ignore literal8 prefix if any for BINARY
		switch strings.ToUpper(dataExt) {
		case "CATENATE": // sluice: RFC 4469 (catenate.go)
			multi, ok := c.session.(SessionMultiAppend)
			if !ok || !c.server.options.caps().Has(imap.CapCatenate) {
				return newClientBugError("CATENATE is not supported")
			}
			return c.handleCatenateAppend(tag, dec, multi, mailbox, &options, appendLimit)
		case "UTF8":
			// '~' is the literal8 prefix
			if !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectSpecial('~') {
				return dec.Err()
			}
		default:
			return newClientBugError("Unknown APPEND data extension")
		}
	}

	lit, nonSync, err := dec.ExpectLiteralReader()
	if err != nil {
		return err
	}

	if lit.Size() > appendLimit {
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeTooBig,
			Text: fmt.Sprintf("Literals are limited to %v bytes for this command", appendLimit),
		}
	}
	if err := c.acceptLiteral(lit.Size(), nonSync); err != nil {
		return err
	}

	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		io.Copy(io.Discard, lit)
		dec.CRLF()
		return err
	}

	if multi, ok := c.session.(SessionMultiAppend); ok && c.server.options.caps().Has(imap.CapMultiAppend) {
		return c.handleMultiAppend(tag, dec, multi, mailbox, lit, &options, dataExt != "", appendLimit)
	}

	data, appendErr := c.session.Append(mailbox, lit, &options)
	if _, discardErr := io.Copy(io.Discard, lit); discardErr != nil {
		return err
	}
	if dataExt != "" && !dec.ExpectSpecial(')') {
		return dec.Err()
	}
	if !dec.ExpectCRLF() {
		return err
	}
	if appendErr != nil {
		return appendErr
	}
	if err := c.poll("APPEND"); err != nil {
		return err
	}
	return c.writeAppendOK(tag, data)
}

func (c *Conn) writeAppendOK(tag string, data *imap.AppendData) error {
	c.countCommand(imap.StatusResponseTypeOK) // sluice: metrics
	enc := newResponseEncoder(c)
	defer enc.end()

	enc.Atom(tag).SP().Atom("OK").SP()
	if data != nil {
		enc.Special('[')
		enc.Atom("APPENDUID").SP().Number(data.UIDValidity).SP().UID(data.UID)
		enc.Special(']').SP()
	}
	enc.Text("APPEND completed")
	return enc.CRLF()
}

// sluice: MULTIAPPEND (RFC 3502).

// AppendMessage is one message of a MULTIAPPEND command: Data, or for
// CATENATE (catenate.go) the Parts to join.
type AppendMessage struct {
	Data    []byte
	Parts   []CatenatePart
	Options imap.AppendOptions
}

// SessionMultiAppend is a session that takes every APPEND as a list of
// messages to store all or none (RFC 3502); the server must advertise
// imap.CapMultiAppend. The messages are read in full before the call.
type SessionMultiAppend interface {
	AppendMulti(mailbox string, msgs []AppendMessage) (*MultiAppendData, error)
}

// MultiAppendData is the APPENDUID of a MULTIAPPEND: the UIDs in order.
type MultiAppendData struct {
	UIDValidity uint32
	UIDs        imap.UIDSet
}

func (c *Conn) handleMultiAppend(tag string, dec *imapwire.Decoder, session SessionMultiAppend, mailbox string, lit *imapwire.LiteralReader, options *imap.AppendOptions, utf8Ext bool, appendLimit int64) error {
	var msgs []AppendMessage
	var tooBig error // a LITERAL+ message over the limit, skipped to the end of the command
	for {
		if tooBig != nil {
			if _, err := io.Copy(io.Discard, lit); err != nil {
				return err
			}
		}
		b, err := io.ReadAll(lit)
		if err != nil {
			return err
		}
		msgs = append(msgs, AppendMessage{Data: b, Options: *options})
		if utf8Ext && !dec.ExpectSpecial(')') {
			return dec.Err()
		}
		if !dec.SP() {
			break
		}
		// The next message: [flags SP] [date-time SP] literal.
		options = &imap.AppendOptions{}
		if err := readAppendOptions(dec, options); err != nil {
			return err
		}
		utf8Ext = false
		var ext string
		if !dec.Special('~') && dec.Atom(&ext) {
			if strings.EqualFold(ext, "CATENATE") && c.server.options.caps().Has(imap.CapCatenate) {
				// sluice: the rest of the command goes to the CATENATE
				// reader, which takes literals too (catenate.go).
				return newClientBugError("CATENATE after a literal message is not supported")
			}
			if !strings.EqualFold(ext, "UTF8") || !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectSpecial('~') {
				return newClientBugError("Unknown APPEND data extension")
			}
			utf8Ext = true
		}
		var nonSync bool
		lit, nonSync, err = dec.ExpectLiteralReader()
		if err != nil {
			return err
		}
		if lit.Size() > appendLimit {
			tooBig = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig,
				Text: fmt.Sprintf("Literals are limited to %v bytes for this command", appendLimit)}
			if !nonSync {
				return tooBig // the client waits for a continuation
			}
		}
		if err := c.acceptLiteral(lit.Size(), nonSync); err != nil {
			return err
		}
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if tooBig != nil {
		return tooBig
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
