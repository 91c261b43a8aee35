package store

import (
	"encoding/json"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
)

// envelopeMemo holds a message's envelope once decoded from the index's
// JSON. FETCH 1:* (FLAGS ENVELOPE ...) of a large mailbox spent over half
// its server time in json.Unmarshal, once per message per FETCH; a
// message's envelope never changes (a Maildir file's content is
// immutable; a new file is a new Message), so it is decoded once.
//
// The memo is reached through a pointer, so the copies of a Message that
// sessions take under the mailbox lock share it. Its cost is the decoded
// envelope kept beside the JSON, for the messages that were fetched with
// ENVELOPE (or indexed) since the mailbox was loaded.
type envelopeMemo struct {
	env atomic.Pointer[imap.Envelope]
	// ascii and utf8 are the envelope as the IMAP server writes it,
	// without and with UTF-8 in quoted strings (EncodedEnvelope).
	ascii, utf8 atomic.Pointer[[]byte]
}

// newEnvelopeMemo returns a memo, holding env already if it is not nil
// (the envelope just extracted when the file was indexed).
func newEnvelopeMemo(env *imap.Envelope) *envelopeMemo {
	m := &envelopeMemo{}
	if env != nil {
		m.env.Store(env)
	}
	return m
}

// Envelope returns the message's IMAP envelope, from the index. The
// result is shared with other callers and must not be modified.
func (msg *Message) Envelope() *imap.Envelope {
	if l := msg.content(); l != nil {
		return l.dec
	}
	if msg.envMemo != nil {
		if env := msg.envMemo.env.Load(); env != nil {
			return env
		}
	}
	env := &imap.Envelope{}
	if len(msg.env) > 0 && json.Unmarshal(msg.env, env) != nil {
		env = &imap.Envelope{} // an unreadable entry: an empty envelope, as for a broken header
	}
	if msg.envMemo != nil {
		msg.envMemo.env.Store(env)
	}
	return env
}

// EncodedEnvelope returns the message's envelope as encode writes it on
// the wire, kept for the next FETCH on a connection whose quoted strings
// may hold UTF-8 as well (utf8) or not: the server's two ways of writing
// strings. Encoding 10,000 envelopes was most of the CPU of FETCH 1:*
// (FLAGS ENVELOPE RFC822.SIZE) once they were decoded only once; the
// cost is the bytes kept, ~0.5 KB a message fetched with ENVELOPE. A
// message indexed lazily keeps them too (its memo stays when fill
// settles it), unless its file could not be read.
func (msg *Message) EncodedEnvelope(utf8 bool, encode func(*imap.Envelope) []byte) []byte {
	if msg.envMemo == nil {
		return encode(msg.Envelope())
	}
	kept := &msg.envMemo.ascii
	if utf8 {
		kept = &msg.envMemo.utf8
	}
	if b := kept.Load(); b != nil {
		return *b
	}
	b := encode(msg.Envelope()) // reads a lazy message's file
	if l := msg.lazy; l == nil || !l.failed {
		kept.Store(&b)
	}
	return b
}
