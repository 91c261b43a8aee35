package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
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
	Size     int64
	Date     time.Time // internal date
	ModSeq   uint64

	base string // unique part of the file name
	sub  string // "cur" or "new"
	env  json.RawMessage
}

// name is the message's current file name in its sub-directory.
func (m *Message) name() string {
	if m.sub == "new" {
		return m.base
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

	pendMu     sync.Mutex
	pending    []stored
	rescanSoon bool
	wake       chan struct{} // files the store put here wait in pending
	rescan     chan struct{} // the watcher saw changes from outside
	quit       chan struct{}
}

// Name returns the mailbox's clean name.
func (m *Mailbox) Name() string { return m.name }

// loadMailbox reads a mailbox's index and brings it in step with its
// Maildir directory.
func (a *Account) loadMailbox(name string) (*Mailbox, error) {
	dir := filepath.Join(a.dir, folderDir(name))
	if st, err := os.Stat(filepath.Join(dir, "cur")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNoMailbox, name)
	}
	m := &Mailbox{a: a, name: name, dir: dir, byBase: map[string]*Message{},
		wake: make(chan struct{}, 1), rescan: make(chan struct{}, 1), quit: make(chan struct{})}
	err := a.db.Update(func(tx *bolt.Tx) error {
		b, err := boxBucket(tx, name, true)
		if err != nil {
			return err
		}
		m.validity = uint32(getU64(b.Get(kValidity)))
		m.next = uint32(getU64(b.Get(kNext)))
		m.modSeq = getU64(b.Get(kModSeq))
		return b.Bucket(bMsgs).ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil || len(k) != 4 {
				return nil // an unreadable entry is re-indexed from its file
			}
			msg := &Message{UID: uint32(k[0])<<24 | uint32(k[1])<<16 | uint32(k[2])<<8 | uint32(k[3]),
				Flags: r.Flags, Keywords: r.Keywords, Size: r.Size, Date: time.Unix(0, r.Date), ModSeq: r.ModSeq,
				base: r.Base, sub: "cur", env: r.Envelope}
			m.msgs = append(m.msgs, msg)
			m.byBase[r.Base] = msg
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("index of %s: %w", name, err)
	}
	if err := m.syncLocked(true); err != nil {
		return nil, err
	}
	m.Tracker = imapserver.NewMailboxTracker(uint32(len(m.msgs)))
	a.s.watch.add(m)
	go m.run(a.s.opts.Rescan)
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
			m.safeSync(true)
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

// Sync brings the mailbox in step with its directory: with full, by
// reading new/ and cur/; otherwise by taking the files the store put there
// since the last sync. Changes reach every session through Tracker.
func (m *Mailbox) Sync(full bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return ErrGone
	}
	return m.syncLocked(full)
}

// SyncIfStale does a full Sync when the last one is older than age.
func (m *Mailbox) SyncIfStale(age time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return ErrGone
	}
	return m.syncLocked(time.Since(m.lastFull) > age)
}

// diskFile is a message file found in the directory.
type diskFile struct {
	sub, name, base, flags string
}

func (m *Mailbox) syncLocked(full bool) error {
	m.pendMu.Lock()
	pend := m.pending
	m.pending = nil
	m.pendMu.Unlock()

	var disk map[string]diskFile
	if full {
		var err error
		if disk, err = m.readDir(); err != nil {
			return err
		}
		m.lastFull = time.Now()
	} else {
		disk = map[string]diskFile{}
		for _, p := range pend {
			if m.byBase[p.base] == nil {
				_, flags, _ := splitName(p.name)
				disk[p.base] = diskFile{sub: p.sub, name: p.name, base: p.base, flags: flags}
			}
		}
	}
	return m.apply(disk, full)
}

func (m *Mailbox) readDir() (map[string]diskFile, error) {
	disk := map[string]diskFile{}
	for _, sub := range []string{"new", "cur"} {
		f, err := os.Open(filepath.Join(m.dir, sub))
		if err != nil {
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("%w: %s", ErrGone, m.name)
			}
			return nil, err
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if n == "" || n[0] == '.' {
				continue
			}
			base, flags, _ := splitName(n)
			if old, dup := disk[base]; dup && old.sub == "cur" {
				continue
			}
			disk[base] = diskFile{sub: sub, name: n, base: base, flags: CleanFlags(flags)}
		}
	}
	return disk, nil
}

// apply records in the index, then in memory, what differs between the
// files found and the messages known. With full, known messages whose
// file is gone are expunged.
func (m *Mailbox) apply(disk map[string]diskFile, full bool) error {
	var added, changed, removed []*Message
	var newBases []string
	for base, f := range disk {
		if msg := m.byBase[base]; msg != nil {
			if msg.Flags != f.flags || msg.sub != f.sub {
				c := *msg
				c.Flags, c.sub = f.flags, f.sub
				changed = append(changed, &c)
			}
			continue
		}
		newBases = append(newBases, base)
	}
	if full {
		for _, msg := range m.msgs {
			if _, ok := disk[msg.base]; !ok {
				removed = append(removed, msg)
			}
		}
	}
	sortBases(newBases)
	next, modSeq := m.next, m.modSeq
	var dovecot map[byte]string
	if len(newBases) > 0 {
		dovecot = dovecotKeywords(m.dir)
	}
	for _, base := range newBases {
		msg, err := m.indexFile(disk[base])
		if err != nil {
			m.a.s.log.Warn("store: cannot index message file", "mailbox", m.name, "file", base, "err", err)
			continue
		}
		msg.Keywords = keywordsOfLetters(msg.Flags, dovecot)
		modSeq++
		msg.UID, msg.ModSeq = next, modSeq
		next++
		added = append(added, msg)
	}
	for _, c := range changed {
		modSeq++
		c.ModSeq = modSeq
	}
	if len(removed) > 0 {
		modSeq++
	}
	if len(added)+len(changed)+len(removed) == 0 {
		return nil
	}
	if err := m.commit(added, changed, removed, next, modSeq); err != nil {
		return err
	}
	m.next, m.modSeq = next, modSeq
	m.expungeLocked(removed)
	for _, c := range changed {
		seq, msg := m.find(c.UID)
		if msg == nil {
			continue
		}
		*msg = *c
		if m.Tracker != nil {
			m.Tracker.QueueMessageFlags(seq, imap.UID(msg.UID), flagsOf(msg), nil)
		}
	}
	for _, msg := range added {
		m.msgs = append(m.msgs, msg)
		m.byBase[msg.base] = msg
		if m.Tracker != nil {
			m.Tracker.QueueNumMessages(uint32(len(m.msgs)))
		}
	}
	return nil
}

// indexFile reads what the index keeps of a new file, moving it from new/
// to cur/ first as IMAP servers do once they have seen a message.
func (m *Mailbox) indexFile(f diskFile) (*Message, error) {
	if f.sub == "new" {
		to := f.base + infoSep + f.flags
		if err := os.Rename(filepath.Join(m.dir, "new", f.name), filepath.Join(m.dir, "cur", to)); err == nil {
			f.sub, f.name = "cur", to
		}
	}
	path := filepath.Join(m.dir, f.sub, f.name)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	env, size, err := readIndexInfo(path)
	if err != nil {
		return nil, err
	}
	return &Message{Flags: f.flags, Size: size, Date: st.ModTime(), base: f.base, sub: f.sub, env: env}, nil
}

// commit writes a batch of changes to the index in one transaction.
func (m *Mailbox) commit(added, changed, removed []*Message, next uint32, modSeq uint64) error {
	return m.a.db.Update(func(tx *bolt.Tx) error {
		b, err := boxBucket(tx, m.name, false)
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("%w: %s", ErrGone, m.name)
		}
		msgs := b.Bucket(bMsgs)
		for _, list := range [][]*Message{added, changed} {
			for _, msg := range list {
				if err := msgs.Put(uidKey(msg.UID), encodeRecord(msg)); err != nil {
					return err
				}
			}
		}
		for _, msg := range removed {
			if err := msgs.Delete(uidKey(msg.UID)); err != nil {
				return err
			}
		}
		if err := b.Put(kNext, putU64(uint64(next))); err != nil {
			return err
		}
		return b.Put(kModSeq, putU64(modSeq))
	})
}

func encodeRecord(msg *Message) []byte {
	v, _ := json.Marshal(record{Base: msg.base, Flags: msg.Flags, Keywords: msg.Keywords, Size: msg.Size,
		Date: msg.Date.UnixNano(), ModSeq: msg.ModSeq, Envelope: msg.env})
	return v
}

// expungeLocked drops messages from memory, telling the tracker about each
// from the highest sequence number down so that every number is valid
// when it is sent.
func (m *Mailbox) expungeLocked(removed []*Message) {
	if len(removed) == 0 {
		return
	}
	gone := map[*Message]bool{}
	for _, msg := range removed {
		gone[msg] = true
		delete(m.byBase, msg.base)
	}
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if gone[m.msgs[i]] {
			if m.Tracker != nil {
				m.Tracker.QueueExpunge(uint32(i + 1))
			}
			m.msgs = append(m.msgs[:i], m.msgs[i+1:]...)
		}
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
