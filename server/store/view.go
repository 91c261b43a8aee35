package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/sluicemail/sluice/server/store/envelope"
)

// View calls fn with the mailbox's messages in UID order (sequence number
// i+1 is msgs[i]) under the mailbox lock: fn must not keep the slice, nor
// call other methods of m.
func (m *Mailbox) View(fn func(msgs []*Message) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return ErrGone
	}
	return fn(m.msgs)
}

// Status is a mailbox's summary for SELECT and STATUS.
type Status struct {
	Messages, Unseen, Deleted uint32
	FirstUnseen               uint32 // sequence number, 0 if none
	UIDNext, UIDValidity      uint32
	HighestModSeq             uint64
	Size                      int64
	Keywords                  []string // every keyword in use
}

// Status returns the mailbox's summary.
func (m *Mailbox) Status() (Status, error) {
	var st Status
	err := m.View(func(msgs []*Message) error {
		st = m.statusLocked(msgs)
		return nil
	})
	return st, err
}

func (m *Mailbox) statusLocked(msgs []*Message) Status {
	st := Status{Messages: uint32(len(msgs)), UIDNext: m.next, UIDValidity: m.validity, HighestModSeq: m.modSeq}
	kw := map[string]bool{}
	for i, msg := range msgs {
		if !HasFlag(msg.Flags, LetterSeen) {
			st.Unseen++
			if st.FirstUnseen == 0 {
				st.FirstUnseen = uint32(i + 1)
			}
		}
		if HasFlag(msg.Flags, LetterDeleted) {
			st.Deleted++
		}
		st.Size += msg.Size
		for _, k := range msg.Keywords {
			if !kw[k] {
				kw[k] = true
				st.Keywords = append(st.Keywords, k)
			}
		}
	}
	return st
}

// Path returns the message's file path now; it changes when flags do.
func (m *Mailbox) Path(msg *Message) string {
	return filepath.Join(m.dir, msg.sub, msg.name())
}

// Keys returns what SEARCH, SORT and THREAD compare of the message's
// header, kept in the index beside the envelope.
func (msg *Message) Keys() *Keys {
	if msg.keys == nil { // not made by indexFile or loadMailbox
		return keysOfJSON(msg.env)
	}
	return msg.keys
}

// IMAPFlags returns the message's flags as IMAP spells them.
func (msg *Message) IMAPFlags() []imap.Flag { return flagsOf(msg) }

func flagsOf(msg *Message) []imap.Flag {
	list := FlagList(msg.Flags, msg.Keywords)
	out := make([]imap.Flag, len(list))
	for i, f := range list {
		out[i] = imap.Flag(f)
	}
	return out
}

// readTries bounds how often ReadMessage looks again for a file that
// moved under it.
const readTries = 5

// beforeRead, when set by a test, runs between ReadMessage's look at the
// index and its read of the file: what other sessions may do meanwhile.
var beforeRead func(m *Mailbox, uid uint32)

// ReadMessage returns the content of the message with uid. The file is
// read outside the mailbox's lock, so another session may rename it (a
// flag change) or remove it (EXPUNGE) between the look at the index and
// the read: then the index, which follows the store's own renames, is
// asked again, and a file still missing under the same name was changed
// from outside, which a full rescan finds. A message gone meanwhile gives
// ErrNoMessage, which a FETCH skips, never a bare "no such file" (NO
// [SERVERBUG] in imaptest's stress mode, issue 16).
func (m *Mailbox) ReadMessage(uid uint32) ([]byte, error) {
	var last string
	for try := 0; ; try++ {
		var path string
		err := m.View(func([]*Message) error {
			if _, msg := m.find(uid); msg != nil {
				path = m.Path(msg)
				return nil
			}
			return fmt.Errorf("%w: uid %d", ErrNoMessage, uid)
		})
		if err != nil {
			return nil, err
		}
		if beforeRead != nil {
			beforeRead(m, uid)
		}
		raw, err := os.ReadFile(path)
		if err == nil || !os.IsNotExist(err) {
			return raw, err
		}
		if try+1 == readTries {
			return nil, fmt.Errorf("%w: uid %d: %v", ErrNoMessage, uid, err)
		}
		if path == last {
			m.Sync(true)
		}
		last = path
	}
}

// readIndexInfo reads a message file for the index: its size as IMAP
// counts it (lines ending in CRLF), its envelope as JSON and decoded (a
// message with a broken header gets an empty one) and the keys derived
// from it.
func readIndexInfo(path string) (json.RawMessage, *imap.Envelope, *Keys, int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	size := int64(len(raw)) + int64(bareLFs(raw))
	e := &imap.Envelope{}
	if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))); err == nil {
		e = envelope.Extract(h)
	}
	env, err := json.Marshal(e)
	return env, e, keysOf(e), size, err
}

// bareLFs counts line feeds not preceded by a carriage return.
func bareLFs(b []byte) int {
	n := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			n++
		}
	}
	return n
}

// CRLF returns b with every bare line feed turned into CRLF, as IMAP
// serves messages (Maildir files written by other tools often use LF).
func CRLF(b []byte) []byte {
	n := bareLFs(b)
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// Watch returns the mailbox's status and a tracker for a new session,
// taken together so that no change falls between them.
func (m *Mailbox) Watch() (Status, *imapserver.SessionTracker, error) {
	if err := m.SyncIfStale(0); err != nil {
		return Status{}, nil, err
	}
	var st Status
	var tr *imapserver.SessionTracker
	err := m.View(func(msgs []*Message) error {
		st = m.statusLocked(msgs)
		tr = m.Tracker.NewSession()
		return nil
	})
	return st, tr, err
}

// Validity returns the mailbox's UIDVALIDITY.
func (m *Mailbox) Validity() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.validity
}

// HighestModSeq returns the mailbox's modification sequence: it grows
// with every change to a message, so a session can tell cheaply whether
// anything changed since it last looked.
func (m *Mailbox) HighestModSeq() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.modSeq
}

// UIDNext returns the UID the next message will get.
func (m *Mailbox) UIDNext() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.next
}
