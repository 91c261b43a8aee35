package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Append stores raw in the mailbox with IMAP flags and internal date
// (zero: now), checking the quota first, and returns its UID. The message
// is fsynced before Append returns.
func (m *Mailbox) Append(raw []byte, flags []string, date time.Time) (uid, validity uint32, err error) {
	if err := m.a.s.CheckQuota(m.a.user, int64(len(raw))); err != nil {
		return 0, 0, err
	}
	letters, kw := SplitFlags(flags)
	base := m.a.s.names.base(len(raw), time.Now())
	m.awaitAdoption(base)
	st, err := m.a.s.putNamed(m.a.user, m.name, raw, letters, date, true, base)
	if err != nil {
		m.releaseAdoption(base)
		return 0, 0, err
	}
	uids, err := m.adopt([]stored{st}, [][]string{kw})
	if err != nil {
		return 0, 0, err
	}
	m.mu.Lock() // a sync may write it (the same value) meanwhile
	validity = m.validity
	m.mu.Unlock()
	return uids[0], validity, nil
}

// beforeAdopt, when set by a test, runs as adopt starts: what other
// sessions may do between a file's arrival and its indexing.
var beforeAdopt func(m *Mailbox)

// adopt indexes files just put into the mailbox (awaiting adoption, see
// adopting.go) and returns their UIDs, giving each the keywords at the
// same index.
func (m *Mailbox) adopt(files []stored, keywords [][]string) ([]uint32, error) {
	if beforeAdopt != nil {
		beforeAdopt(m)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	bases := make([]string, len(files))
	for i, f := range files {
		bases[i] = f.base
	}
	m.releaseAdoption(bases...)
	if m.gone {
		return nil, ErrGone
	}
	m.pendMu.Lock()
	m.pending = append(m.pending, files...)
	m.pendMu.Unlock()
	if err := m.syncLocked(false); err != nil {
		return nil, err
	}
	uids := make([]uint32, len(files))
	var changed []*Message
	for i, f := range files {
		msg := m.byBase[f.base]
		if msg == nil {
			return nil, fmt.Errorf("store: %s: message %s not indexed", m.name, f.base)
		}
		uids[i] = msg.UID
		if i < len(keywords) && len(keywords[i]) > 0 {
			c := *msg
			c.Keywords = keywords[i]
			m.modSeq++
			c.ModSeq = m.modSeq
			changed = append(changed, &c)
		}
	}
	if len(changed) > 0 {
		if err := m.commit(nil, changed, nil, m.next, m.modSeq); err != nil {
			return nil, err
		}
		for _, c := range changed {
			seq, msg := m.find(c.UID)
			*msg = *c
			m.Tracker.QueueMessageFlagsModSeq(seq, imap.UID(msg.UID), flagsOf(msg), msg.ModSeq, nil)
		}
	}
	return uids, nil
}

// FlagOp says how SetFlags combines flags: '+' adds, '-' removes, '='
// replaces.
type FlagOp = byte

// SetFlags changes the flags of the messages with uids in the index; the
// files in cur/ are renamed to their system flags later (flagrename.go),
// those still in new/ move to cur/ at once. Every session but source
// (which may be nil) is told; source answers its own STORE.
func (m *Mailbox) SetFlags(uids []uint32, op FlagOp, flags []string, source *imapserver.SessionTracker) error {
	_, err := m.SetFlagsUnchangedSince(uids, op, flags, source, 0)
	return err
}

// SetFlagsUnchangedSince is SetFlags for STORE (UNCHANGEDSINCE n) (RFC
// 7162 section 3.1.3): a message whose MODSEQ is above unchangedSince
// keeps its flags and its UID is returned. Zero means no condition. The
// check and the change happen under the mailbox's lock, so no other
// change can slip between them.
func (m *Mailbox) SetFlagsUnchangedSince(uids []uint32, op FlagOp, flags []string, source *imapserver.SessionTracker, unchangedSince uint64) (modified []uint32, err error) {
	letters, kw := SplitFlags(flags)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return nil, ErrGone
	}
	var changed []*Message
	var moved []bool // changed[i]'s file moved from new/ to cur/ now
	deferred := false
	modSeq := m.modSeq
	rn := m.newOwnRenamer()
	defer rn.close()
	for _, uid := range uids {
		_, msg := m.find(uid)
		if msg == nil {
			continue
		}
		if unchangedSince != 0 && msg.ModSeq > unchangedSince {
			modified = append(modified, uid)
			continue
		}
		c := *msg
		c.Flags = mergeLetters(msg.Flags, op, letters)
		c.Keywords = mergeKeywords(msg.Keywords, op, kw)
		if c.Flags == msg.Flags && equalStrings(c.Keywords, msg.Keywords) && msg.sub == "cur" {
			continue
		}
		now := msg.sub == "new"
		if now {
			// Seen by a session: to cur/ under its flags at once, as
			// fill would move it.
			c.sub = "cur"
			if err := rn.rename(msg.sub, msg.name(), c.sub, c.name()); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue // gone from outside; the next full sync expunges it
				}
				return modified, err
			}
			if c.lazy != nil {
				c.lazy.moved(m.Path(&c))
			}
		} else {
			deferRename(&c, msg)
			deferred = deferred || c.unrenamed
		}
		modSeq++
		c.ModSeq = modSeq
		changed = append(changed, &c)
		moved = append(moved, now)
	}
	if len(changed) == 0 {
		return modified, nil
	}
	err = m.commit(nil, changed, nil, m.next, modSeq)
	m.modSeq = modSeq
	for i, c := range changed {
		// A file moved to cur/ is there whatever the index says: memory
		// follows the files, and the next sync repairs the index. A
		// change only the index was to hold did not happen.
		if err != nil && !moved[i] {
			continue
		}
		seq, msg := m.find(c.UID)
		*msg = *c
		m.Tracker.QueueMessageFlagsModSeq(seq, imap.UID(msg.UID), flagsOf(msg), msg.ModSeq, source)
	}
	if err != nil {
		return modified, err
	}
	if deferred {
		m.startRenames()
	}
	return modified, nil
}

// Expunge removes the messages flagged \Deleted (only those in uids, when
// uids is not nil) and returns their UIDs.
func (m *Mailbox) Expunge(uids *imap.UIDSet) ([]uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return nil, ErrGone
	}
	var doomed []*Message
	for _, msg := range m.msgs {
		if HasFlag(msg.Flags, LetterDeleted) && (uids == nil || uids.Contains(imap.UID(msg.UID))) {
			doomed = append(doomed, msg)
		}
	}
	return m.removeLocked(doomed, true)
}

// removeLocked deletes (or, with del false, only forgets: the files were
// moved away) messages and tells every session.
func (m *Mailbox) removeLocked(doomed []*Message, del bool) ([]uint32, error) {
	if len(doomed) == 0 {
		return nil, nil
	}
	var freed int64
	out := make([]uint32, 0, len(doomed))
	for _, msg := range doomed {
		if del {
			size := msg.Size() // before the file goes: a lazy message reads it
			if err := os.Remove(m.Path(msg)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return out, err
			}
			freed += size
		}
		out = append(out, msg.UID)
	}
	if del {
		fsyncDir(filepath.Join(m.dir, "cur"))
		m.a.s.addUsage(m.a.user, -freed)
	}
	m.modSeq++
	err := m.commit(nil, nil, doomed, m.next, m.modSeq)
	m.expungeLocked(doomed)
	return out, err
}

// Transfer copies (or, with move, moves) the messages with uids into dest
// and returns the source and destination UIDs in the same order. Files
// are hard-linked for a copy and renamed for a move, so the content is
// never rewritten; the destination directory is fsynced before the source
// forgets a moved message. Moves into and out of Junk train the Trainer.
// A move within one mailbox gives the messages new names and new UIDs, as
// Dovecot does (RFC 6851 allows MOVE to the selected mailbox).
func (m *Mailbox) Transfer(dest *Mailbox, uids []uint32, move bool) (src, dst []uint32, err error) {
	type item struct {
		path string
		to   stored
		kw   []string
		// the message as it was under the lock: its fields change under it
		uid         uint32
		base, flags string
		size        int64
		date        time.Time
	}
	var items []item
	var total int64
	err = m.View(func([]*Message) error {
		for _, uid := range uids {
			if _, msg := m.find(uid); msg != nil {
				items = append(items, item{path: m.Path(msg), kw: msg.Keywords,
					uid: msg.UID, base: msg.base, flags: msg.Flags, size: msg.Size(), date: msg.Date()})
				total += msg.Size()
			}
		}
		return nil
	})
	if err != nil || len(items) == 0 {
		return nil, nil, err
	}
	if !move {
		if err := m.a.s.CheckQuota(m.a.user, total); err != nil {
			return nil, nil, err
		}
	}
	m.a.s.ensureMailbox(m.a.dir, dest.name)
	now := time.Now()
	for i := range items {
		it := &items[i]
		base := it.base
		if !move || dest == m { // a move within one mailbox renames: new name, new UID
			base = m.a.s.names.base(int(it.size), now)
		}
		name := base + infoSep + it.flags
		to := filepath.Join(dest.dir, "cur", name)
		dest.awaitAdoption(base)
		if beforeTransferFile != nil {
			beforeTransferFile()
		}
		for try := 0; ; try++ {
			if move {
				err = os.Rename(it.path, to)
			} else if err = os.Link(it.path, to); err != nil {
				err = copyFile(it.path, to, it.date)
			}
			if try > 0 || !errors.Is(err, os.ErrNotExist) {
				break
			}
			// Renamed to its flags since the look (flagrename.go), or
			// removed: its name now, if it is still here.
			if it.path = m.pathOf(it.uid); it.path == "" {
				break
			}
		}
		if err != nil {
			dest.releaseAdoption(base)
			break
		}
		it.to = stored{mailbox: dest.name, dir: dest.dir, sub: "cur", name: name, base: base}
	}
	var done []stored
	var kws [][]string
	for _, it := range items {
		if it.to.name != "" {
			done = append(done, it.to)
			kws = append(kws, it.kw)
			src = append(src, it.uid)
		}
	}
	if len(done) == 0 {
		return nil, nil, err
	}
	if serr := fsyncDir(filepath.Join(dest.dir, "cur")); serr != nil && err == nil {
		err = serr
	}
	if move {
		m.forgetMoved(src)
	} else {
		m.a.s.addUsage(m.a.user, total)
	}
	dst, aerr := dest.adopt(done, kws)
	if err == nil {
		err = aerr
	}
	m.a.train(m.name, dest.name, done, dest)
	return src, dst, err
}

// beforeTransferFile, when set by a test, runs before Transfer links or
// renames each file: what other sessions may do after its look.
var beforeTransferFile func()

// forgetMoved drops messages whose files were moved to another mailbox.
func (m *Mailbox) forgetMoved(uids []uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []*Message
	for _, uid := range uids {
		if _, msg := m.find(uid); msg != nil {
			gone = append(gone, msg)
		}
	}
	if _, err := m.removeLocked(gone, false); err != nil {
		m.a.s.log.Warn("store: index after move", "mailbox", m.name, "err", err)
	}
}

func copyFile(from, to string, date time.Time) error {
	raw, _, err := readMessageFile(from)
	if err != nil {
		return err
	}
	return writeSynced(to, raw, date)
}
