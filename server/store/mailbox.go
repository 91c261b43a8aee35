package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
	bolt "go.etcd.io/bbolt"
)

// ErrNoMailbox reports a mailbox that does not exist.
var ErrNoMailbox = errors.New("no such mailbox")

// ErrGone reports a mailbox deleted or renamed while in use.
var ErrGone = errors.New("mailbox was deleted or renamed")

// Message is one message of an open mailbox. Its fields change under the
// mailbox lock; read them inside Mailbox.View or through a copy.
type Message struct {
	UID      uint32
	Flags    string   // Maildir info letters, in ASCII order
	Keywords []string // IMAP keywords, sorted
	ModSeq   uint64

	base string    // unique part of the file name
	sub  string    // "cur" or "new"
	size int64     // RFC822.SIZE; read it through Size
	date time.Time // internal date; read it through Date
	env  json.RawMessage
	keys *Keys // derived from env (keys.go)
	// storedKeys, when keys is nil, holds them as the index stores
	// them, decoded on first use (keysmemo.go).
	storedKeys *storedKeys

	envMemo *envelopeMemo // env decoded, shared by the copies (envmemo.go)
	// lazy, when not nil, holds size, date, env and keys instead of the
	// fields above, read from the file on first use (lazy.go).
	lazy *lazyContent

	// unrenamed: Flags changed and are in the index, but the file in
	// cur/ still has the letters of onDisk in its name until
	// renameLater renames it (flagrename.go).
	unrenamed bool
	onDisk    string
}

// name is the message's current file name in its sub-directory.
func (m *Message) name() string {
	if m.sub == "new" {
		return m.base
	}
	if m.unrenamed {
		return m.base + infoSep + m.onDisk
	}
	return m.base + infoSep + m.Flags
}

// Mailbox is an open mailbox: its messages in UID order, kept in step with
// the Maildir and the index. All sessions of a user share one Mailbox per
// name; Tracker tells each of them about the others' changes.
type Mailbox struct {
	a       *Account
	name    string
	dir     string
	Tracker *imapserver.MailboxTracker

	mu       sync.Mutex
	gone     bool
	validity uint32
	next     uint32
	modSeq   uint64
	msgs     []*Message
	byBase   map[string]*Message
	lastFull time.Time
	stamp    dirStamp // new/ and cur/ as the last full listing saw them
	saved    []byte   // the stamp as the index keeps it (savedstamp.go)

	statusMemo *statusMemo // the last Status counted (view.go)

	recentFrom uint32 // first UID no session has seen as \Recent (recent.go)
	// justLoaded: loadMailbox listed the directory (or the stamp saved
	// at the last close vouched for it), so the Watch of the SELECT
	// that loaded it need not list it again.
	justLoaded bool
	filling    bool // fill runs (lazy.go)
	renaming   bool // renameLater runs (flagrename.go)

	pendMu     sync.Mutex
	pending    []stored
	awaited    map[string]bool // files put here that adopt will index (adopting.go)
	rescanSoon bool
	wake       chan struct{} // files the store put here wait in pending
	rescan     chan struct{} // the watcher saw changes from outside
	quit       chan struct{}
}

// Name returns the mailbox's clean name.
func (m *Mailbox) Name() string { return m.name }

// errNoBucket: the mailbox has no index entry yet.
var errNoBucket = errors.New("no index entry")

// loadMailbox reads a mailbox's index and brings it in step with its
// Maildir directory.
func (a *Account) loadMailbox(name string) (*Mailbox, error) {
	dir := filepath.Join(a.dir, folderDir(name))
	if st, err := os.Stat(filepath.Join(dir, "cur")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNoMailbox, name)
	}
	m := &Mailbox{a: a, name: name, dir: dir, byBase: map[string]*Message{},
		wake: make(chan struct{}, 1), rescan: make(chan struct{}, 1), quit: make(chan struct{})}
	var saved []byte     // the stamp of the last close (savedstamp.go)
	var stale []*Message // entries without keys or with older ones, or in JSON (recordcodec.go)
	// A read-only transaction: a writable one commits, and its fsyncs
	// were half of loading 10,000 entries (a store benchmark). Only a
	// mailbox without an index entry yet, or stale entries, take a write.
	load := func(tx *bolt.Tx) error {
		b, err := boxBucket(tx, name, tx.Writable())
		if err != nil {
			return err
		}
		if b == nil {
			return errNoBucket
		}
		m.validity = uint32(getU64(b.Get(kValidity)))
		m.next = uint32(getU64(b.Get(kNext)))
		m.modSeq = getU64(b.Get(kModSeq))
		m.recentFrom = max(m.next, 1)
		saved = bytes.Clone(b.Get(kDirStamp))
		state := b.Bucket(bState)
		unrenamed := b.Bucket(bUnrenamed)
		// The entries are decoded on every core (the envelope and
		// SEARCH keys are left as stored, keysmemo.go). Their bytes
		// stay valid for the transaction.
		type entry struct {
			k, v []byte
			r    *loadedRecord // nil: unreadable, re-indexed from its file
			json bool          // written by index version 1
		}
		var entries []entry
		if err := b.Bucket(bMsgs).ForEach(func(k, v []byte) error {
			entries = append(entries, entry{k: k, v: v})
			return nil
		}); err != nil {
			return err
		}
		parallel(len(entries), func(i int) {
			var r loadedRecord
			e := &entries[i]
			bin, err := unmarshalRecord(e.v, &r)
			if err == nil && len(e.k) == 4 {
				e.r, e.json = &r, !bin
			}
		})
		for _, e := range entries {
			k, r := e.k, e.r
			if r == nil {
				continue
			}
			sub := "cur"
			if r.Sub == "new" {
				sub = "new"
			}
			msg := &Message{UID: uint32(k[0])<<24 | uint32(k[1])<<16 | uint32(k[2])<<8 | uint32(k[3]),
				Flags: r.Flags, Keywords: r.Keywords, size: r.Size, date: time.Unix(0, r.Date), ModSeq: r.ModSeq,
				base: r.Base, sub: sub, env: r.Envelope, envMemo: newEnvelopeMemo(nil)}
			if state != nil {
				if v := state.Get(k); v != nil {
					applyState(msg, v) // an unreadable state leaves the entry's own; the sync renews flags
				}
			}
			if unrenamed != nil && msg.sub == "cur" {
				if v := unrenamed.Get(k); v != nil {
					msg.unrenamed, msg.onDisk = true, string(v) // the sync checks it against the file (flagrename.go)
				}
			}
			if len(r.Envelope) == 0 {
				// Indexed lazily and not filled before the index was
				// closed: read again (lazy.go).
				msg.lazy = newLazyContent(dir, r.Base, m.Path(msg))
			} else if currentKeys(r.Keys) {
				msg.storedKeys = &storedKeys{raw: r.Keys, env: r.Envelope}
				if e.json {
					stale = append(stale, msg)
				}
			} else {
				msg.keys = keysOfJSON(msg.env)
				stale = append(stale, msg)
			}
			m.msgs = append(m.msgs, msg)
			m.byBase[r.Base] = msg
		}
		return nil
	}
	err := a.db.View(load)
	if errors.Is(err, errNoBucket) {
		err = a.db.Update(load)
	}
	if err == nil && len(stale) > 0 {
		err = a.db.Update(func(tx *bolt.Tx) error {
			b, err := boxBucket(tx, name, false)
			if err != nil || b == nil {
				return err
			}
			return writeMessages(b, stale, nil, nil)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("index of %s: %w", name, err)
	}
	m.useSavedStamp(saved)
	if err := m.syncLocked(true); err != nil {
		return nil, err
	}
	m.Tracker = imapserver.NewMailboxTracker(uint32(len(m.msgs)))
	a.s.watch.add(m)
	go m.run(a.s.opts.Rescan)
	m.mu.Lock()
	m.justLoaded = true
	for _, msg := range m.msgs {
		if msg.lazy != nil {
			m.startFill()
			break
		}
	}
	for _, msg := range m.msgs {
		if msg.unrenamed { // left by a crash or an older stop
			m.startRenames()
			break
		}
	}
	m.mu.Unlock()
	return m, nil
}

// run applies deliveries as they come and rescans the directory for
// changes made from outside.
func (m *Mailbox) run(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.quit:
			return
		case <-m.wake:
			m.safeSync(false)
		case <-m.rescan:
			if !m.isFilling() { // else fill asks for one rescan when it ends (lazy.go)
				m.safeSync(true)
			}
		case <-t.C:
			m.safeSync(true)
		}
	}
}

// safeSync is Sync for the background loop: an error is logged and a
// panic (a file no parser expected) is contained to this round, so the
// server and the other mailboxes go on.
func (m *Mailbox) safeSync(full bool) {
	defer func() {
		if v := recover(); v != nil {
			m.a.s.log.Error("store: panic while scanning mailbox", "user", m.a.user, "mailbox", m.name, "panic", v)
		}
	}()
	if err := m.Sync(full); err != nil && !errors.Is(err, ErrGone) {
		m.a.s.log.Warn("store: scanning mailbox", "user", m.a.user, "mailbox", m.name, "err", err)
	}
}

// stop ends the mailbox's background work and fails later use.
func (m *Mailbox) stop() {
	m.mu.Lock()
	if !m.gone {
		m.renameNow() // so that other readers of the Maildir see the flags
		m.saveStamp()
		m.gone = true
		close(m.quit)
	}
	m.mu.Unlock()
	m.a.s.watch.remove(m)
}

// poke queues a file the store itself just put into the mailbox.
func (m *Mailbox) poke(st stored) {
	m.pendMu.Lock()
	m.pending = append(m.pending, st)
	m.pendMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// find returns the sequence number and message of a UID (0, nil if none).
func (m *Mailbox) find(uid uint32) (uint32, *Message) {
	i := sort.Search(len(m.msgs), func(i int) bool { return m.msgs[i].UID >= uid })
	if i < len(m.msgs) && m.msgs[i].UID == uid {
		return uint32(i + 1), m.msgs[i]
	}
	return 0, nil
}
