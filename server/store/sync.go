package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/emersion/go-imap/v2"
	bolt "go.etcd.io/bbolt"
)

// Keeping a mailbox in step with its directory: the Maildir is the truth
// for which messages exist and their flags; the index follows it, giving
// new files the next UIDs and forgetting files that went away.

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
	var stamp dirStamp
	if full {
		taken := time.Now()
		now, err := m.statDirs()
		if err == nil && m.stamp.same(now) {
			// Nothing was added, removed or renamed since the last
			// listing: only the store's own deliveries are news.
			m.lastFull, full = taken, false
		} else {
			m.stamp = dirStamp{}
			if disk, err = m.readDir(); err != nil {
				return err
			}
			m.lastFull, stamp = taken, now.settled(taken)
		}
	}
	if !full {
		disk = map[string]diskFile{}
		for _, p := range pend {
			if m.byBase[p.base] == nil {
				_, flags, _ := splitName(p.name)
				disk[p.base] = diskFile{sub: p.sub, name: p.name, base: p.base, flags: flags}
			}
		}
	}
	skipped := m.skipAwaited(disk)
	if err := m.apply(disk, full); err != nil {
		return err
	}
	if full && !skipped { // a skipped file must be listed again
		m.stamp = stamp
	}
	return nil
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
	var renamed []*Message // renamed to their flags before a crash (flagrename.go)
	var newBases []string
	for base, f := range disk {
		if msg := m.byBase[base]; msg != nil {
			if msg.unrenamed && f.sub == "cur" {
				if f.flags == msg.onDisk {
					continue // renameLater renames it
				}
				if f.flags == msg.Flags {
					c := *msg
					c.unrenamed, c.onDisk = false, ""
					renamed = append(renamed, &c)
					continue
				}
			}
			if msg.Flags != f.flags || msg.sub != f.sub {
				c := *msg
				c.Flags, c.sub = f.flags, f.sub
				c.unrenamed, c.onDisk = false, "" // changed from outside: the name wins
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
	next, modSeq, validity := m.next, m.modSeq, m.validity
	var dovecot map[byte]string
	var uids map[string]uint32
	if len(newBases) > 0 || (full && len(m.msgs) == 0 && next == 1) {
		dovecot = dovecotKeywords(m.dir)
		uids, next, validity = assignUIDs(m.dir, newBases, next, validity, len(m.msgs) == 0)
	}
	files := make([]diskFile, len(newBases))
	for i, base := range newBases {
		files[i] = disk[base]
	}
	lazy := len(files) >= m.a.s.lazyFrom
	indexed, errs := m.indexFiles(files, lazy)
	for i, base := range newBases {
		msg, err := indexed[i], errs[i]
		if err != nil {
			m.a.s.log.Warn("store: cannot index message file", "mailbox", m.name, "file", base, "err", err)
			continue
		}
		msg.Keywords = keywordsOfLetters(msg.Flags, dovecot)
		modSeq++
		msg.UID, msg.ModSeq = uids[base], modSeq
		added = append(added, msg)
	}
	for _, c := range changed {
		modSeq++
		c.ModSeq = modSeq
	}
	if len(removed) > 0 {
		modSeq++
	}
	if len(added)+len(changed)+len(removed)+len(renamed) == 0 && next == m.next && validity == m.validity {
		return nil
	}
	if err := m.commitValidity(added, append(changed, renamed...), removed, next, modSeq, validity); err != nil {
		return err
	}
	for _, c := range renamed {
		m.replaceLocked(c)
	}
	m.next, m.modSeq, m.validity = next, modSeq, validity
	if full && len(added)+len(removed) > 0 {
		// Files came or went that the store may not have counted.
		m.a.s.recount(m.a.user)
	}
	m.expungeLocked(removed)
	for _, c := range changed {
		seq, msg := m.replaceLocked(c)
		if msg == nil {
			continue
		}
		if m.Tracker != nil {
			m.Tracker.QueueMessageFlagsModSeq(seq, imap.UID(msg.UID), flagsOf(msg), msg.ModSeq, nil)
		}
	}
	for _, msg := range added {
		m.msgs = append(m.msgs, msg)
		m.byBase[msg.base] = msg
		if m.Tracker != nil {
			m.Tracker.QueueNumMessages(uint32(len(m.msgs)))
		}
	}
	if lazy && len(added) > 0 {
		m.startFill()
	}
	return nil
}

// replaceLocked puts c in place of the message with its UID and tells a
// lazily indexed one where its file is now; nil if the mailbox no longer
// has it. Called with m.mu held.
func (m *Mailbox) replaceLocked(c *Message) (seq uint32, msg *Message) {
	if seq, msg = m.find(c.UID); msg == nil {
		return 0, nil
	}
	*msg = *c
	if msg.lazy != nil {
		msg.lazy.moved(m.Path(msg))
	}
	return seq, msg
}

// indexFile reads what the index keeps of a new file, moving it from new/
// to cur/ first as IMAP servers do once they have seen a message.
func (m *Mailbox) indexFile(f diskFile) (*Message, error) {
	if f.sub == "new" {
		to := f.base + infoSep + f.flags
		if err := renameMessage(filepath.Join(m.dir, "new", f.name), filepath.Join(m.dir, "cur", to)); err == nil {
			f.sub, f.name = "cur", to
		}
	}
	info, err := readIndexInfo(filepath.Join(m.dir, f.sub, f.name))
	if err != nil {
		return nil, err
	}
	return &Message{Flags: f.flags, size: info.size, date: info.date, base: f.base, sub: f.sub, env: info.env, keys: info.keys,
		envMemo: newEnvelopeMemo(info.dec)}, nil
}

// commit writes a batch of changes to the index in one transaction:
// whole entries for added, only the state (flags, keywords, MODSEQ;
// state.go) for changed.
func (m *Mailbox) commit(added, changed, removed []*Message, next uint32, modSeq uint64) error {
	return m.commitValidity(added, changed, removed, next, modSeq, m.validity)
}

// commitValidity is commit that also records the mailbox's UIDVALIDITY,
// which a first sync may take from a dovecot-uidlist.
func (m *Mailbox) commitValidity(added, changed, removed []*Message, next uint32, modSeq uint64, validity uint32) error {
	return m.a.db.Update(func(tx *bolt.Tx) error {
		b, err := boxBucket(tx, m.name, false)
		if err != nil {
			return err
		}
		if b == nil {
			return fmt.Errorf("%w: %s", ErrGone, m.name)
		}
		if err := writeMessages(b, added, changed, removed); err != nil {
			return err
		}
		if err := b.Put(kNext, putU64(uint64(next))); err != nil {
			return err
		}
		if err := b.Put(kValidity, putU64(uint64(validity))); err != nil {
			return err
		}
		return b.Put(kModSeq, putU64(modSeq))
	})
}

func encodeRecord(msg *Message) []byte {
	r := record{Base: msg.base, Sub: msg.sub, Flags: msg.Flags, Keywords: msg.Keywords, Size: msg.size,
		Date: msg.date.UnixNano(), ModSeq: msg.ModSeq, Envelope: msg.env, Keys: msg.keys}
	if r.Keys == nil && msg.storedKeys != nil {
		r.Keys = msg.storedKeys.get()
	}
	if r.Sub == "cur" {
		r.Sub = ""
	}
	if l := msg.lazy; l != nil {
		// Content not read yet, or unreadable: left out, so that the
		// next load reads the file (lazy.go).
		r.Size, r.Date, r.Envelope, r.Keys = 0, 0, nil, nil
		if l.done.Load() && !l.failed {
			r.Size, r.Date, r.Envelope, r.Keys = l.size, l.date.UnixNano(), l.env, l.keys
		}
	}
	var keys []byte
	if r.Keys != nil {
		keys, _ = json.Marshal(r.Keys)
	}
	return marshalRecord(&r, keys)
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
				m.Tracker.QueueExpungeUID(uint32(i+1), imap.UID(m.msgs[i].UID))
			}
			m.msgs = append(m.msgs[:i], m.msgs[i+1:]...)
		}
	}
}
