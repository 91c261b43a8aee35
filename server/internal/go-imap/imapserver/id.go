package imapserver

// sluice: this file is not in go-imap v2.0.0-beta.8; see README.md.

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionID is a session that answers the ID command (RFC 2971). The
// server must also advertise imap.CapID.
type SessionID interface {
	// ID receives the client's identification (nil for "ID NIL") and
	// returns the server's, or nil to answer "* ID NIL".
	ID(client *imap.IDData) *imap.IDData
}

// RFC 2971 section 3.3: at most 30 pairs, field names of at most 30
// octets, values of at most 1024.
const (
	maxIDPairs    = 30
	maxIDFieldLen = 30
	maxIDValueLen = 1024
)

func (c *Conn) handleID(dec *imapwire.Decoder) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var client *imap.IDData
	var atom string
	if dec.Atom(&atom) {
		if !dec.Expect(strings.EqualFold(atom, "NIL"), "NIL") {
			return dec.Err()
		}
	} else {
		client = &imap.IDData{}
		pairs := 0
		err := dec.ExpectList(func() error {
			var field, value string
			if !dec.ExpectString(&field) || !dec.ExpectSP() || !dec.ExpectNString(&value) {
				return dec.Err()
			}
			if pairs++; pairs > maxIDPairs || len(field) > maxIDFieldLen || len(value) > maxIDValueLen {
				return newClientBugError("ID parameters exceed RFC 2971 limits")
			}
			setIDField(client, field, value)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	var server *imap.IDData
	if session, ok := c.session.(SessionID); ok {
		server = session.ID(client)
	}
	return c.writeID(server)
}

func setIDField(data *imap.IDData, field, value string) {
	switch strings.ToLower(field) {
	case "name":
		data.Name = value
	case "version":
		data.Version = value
	case "os":
		data.OS = value
	case "os-version":
		data.OSVersion = value
	case "vendor":
		data.Vendor = value
	case "support-url":
		data.SupportURL = value
	case "address":
		data.Address = value
	case "date":
		data.Date = value
	case "command":
		data.Command = value
	case "arguments":
		data.Arguments = value
	case "environment":
		data.Environment = value
	}
}

func (c *Conn) writeID(data *imap.IDData) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("ID").SP()
	var kv []string
	if data != nil {
		for _, p := range [][2]string{
			{"name", data.Name}, {"version", data.Version}, {"os", data.OS},
			{"os-version", data.OSVersion}, {"vendor", data.Vendor},
			{"support-url", data.SupportURL}, {"address", data.Address},
			{"date", data.Date}, {"command", data.Command},
			{"arguments", data.Arguments}, {"environment", data.Environment},
		} {
			if p[1] != "" {
				kv = append(kv, p[0], p[1])
			}
		}
	}
	if len(kv) == 0 {
		enc.NIL()
	} else {
		enc.List(len(kv), func(i int) { enc.String(kv[i]) })
	}
	return enc.CRLF()
}
