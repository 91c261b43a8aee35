package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

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
	Keywords                  []string // every keyword in use
}

// Status returns the mailbox's summary, from the index alone.
func (m *Mailbox) Status() (Status, error) {
	var st Status
	err := m.View(func(msgs []*Message) error {
		st = m.statusLocked(msgs)
		return nil
	})
	return st, err
}

// Size returns the sum of the messages' sizes (STATUS SIZE). A message
// indexed lazily (lazy.go) and not read yet means reading its file: that
// is done on copies, outside the mailbox's lock, which STATUS held while
// it read the 10,000 files of a mailbox still being filled; and only
// for STATUS SIZE, not for every STATUS as before.
func (m *Mailbox) Size() (int64, error) {
	var size int64
	var unread []Message
	err := m.View(func(msgs []*Message) error {
		for _, msg := range msgs {
			if n, ok := msg.KnownSize(); ok {
				size += n
			} else {
				unread = append(unread, *msg)
			}
		}
		return nil
	})
	ptrs := make([]*Message, len(unread))
	for i := range unread {
		ptrs[i] = &unread[i]
	}
	Load(ptrs)
	for _, msg := range ptrs {
		size += msg.Size()
	}
	return size, err
}

func (m *Mailbox) statusLocked(msgs []*Message) Status {
	// Counting 10,000 messages' flags was a third of a warm SELECT's
	// server time (0.2 of 0.6 ms, bench/imap). Every change of a
	// message's flags or keywords raises HIGHESTMODSEQ (as CONDSTORE
	// requires), an expunge too, and a new message UIDNEXT: while these
	// and the count are as they were, so is the status.
	key := statusKey{m.validity, m.next, m.modSeq, len(msgs)}
	if c := m.statusMemo; c != nil && c.key == key {
		st := c.st
		st.Keywords = slices.Clone(st.Keywords)
		return st
	}
	st := m.countStatus(msgs)
	m.statusMemo = &statusMemo{key: key, st: st}
	st.Keywords = slices.Clone(st.Keywords)
	return st
}

// statusMemo is the last status counted and what it was counted at.
type statusMemo struct {
	key statusKey
	st  Status
}

type statusKey struct {
	validity, next uint32
	modSeq         uint64
	count          int
}

func (m *Mailbox) countStatus(msgs []*Message) Status {
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

// pathOf returns the file path of the message with uid now, "" when the
// mailbox no longer has it.
func (m *Mailbox) pathOf(uid uint32) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, msg := m.find(uid); msg != nil && !m.gone {
		return m.Path(msg)
	}
	return ""
}

// Keys returns what SEARCH, SORT and THREAD compare of the message's
// header, kept in the index beside the envelope.
func (msg *Message) Keys() *Keys {
	if l := msg.content(); l != nil {
		return l.keys
	}
	if msg.keys != nil {
		return msg.keys
	}
	if msg.storedKeys != nil {
		return msg.storedKeys.get()
	}
	return keysOfJSON(msg.env) // not made by indexFile or loadMailbox
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
		raw, _, err := readMessageFile(path)
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

// fileInfo is what the index keeps of a message file's content.
type fileInfo struct {
	env  json.RawMessage // the envelope as the index stores it
	dec  *imap.Envelope  // the same, decoded
	keys *Keys
	size int64     // as IMAP counts it (lines ending in CRLF)
	date time.Time // the file's mtime: the internal date
}

// readIndexInfo reads a message file for the index (a message with a
// broken header gets an empty envelope), its internal date from the same
// fstat (readMessageFile).
func readIndexInfo(path string) (fileInfo, error) {
	raw, mtime, err := readMessageFile(path)
	if err != nil {
		return fileInfo{}, err
	}
	e := &imap.Envelope{}
	if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw))); err == nil {
		e = envelope.Extract(h)
	}
	env, err := json.Marshal(e)
	return fileInfo{env: env, dec: e, keys: keysOf(e), size: int64(len(raw)) + int64(bareLFs(raw)), date: mtime}, err
}

// Date returns the message's internal date, reading its file first if it
// was not yet.
func (msg *Message) Date() time.Time {
	if l := msg.content(); l != nil {
		return l.date
	}
	return msg.date
}

// Watch returns the mailbox's status and a tracker for a new session,
// taken together so that no change falls between them.
func (m *Mailbox) Watch() (Status, *imapserver.SessionTracker, error) {
	m.mu.Lock()
	if m.gone {
		m.mu.Unlock()
		return Status{}, nil, ErrGone
	}
	// Right after loadMailbox's listing, a second one (54 ms of bench/imap's
	// first SELECT of 10,000 files, whose directory was too recently
	// changed for dirStamp to vouch for it) would find nothing new.
	fresh := m.justLoaded
	m.justLoaded = false
	m.mu.Unlock()
	if !fresh {
		if err := m.SyncIfStale(0); err != nil {
			return Status{}, nil, err
		}
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
