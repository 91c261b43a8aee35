package store

import (
	"errors"
	"os"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// A Maildir file carries its system flags in its name, so STORE 1:*
// +FLAGS (\Seen) on 10,000 messages is 10,000 renames: 100-140 ms of the
// kernel's time, most of the command (bench/imap), and the same renames
// Dovecot makes before it answers. sluice answers first: SetFlags writes
// the new flags into the index, with the letters still in the file's name
// beside them in the "unrenamed" bucket, commits (fsynced) and answers;
// renameLater renames the files in the next pause of the account's
// sessions. Until then the index is what the flags are, and the file's
// name is what Path uses to find it.
//
// A crash before the renames loses nothing: loading the mailbox reads
// the unrenamed entries, and the sync (apply) tells three cases apart by
// the name it finds: the old letters (the rename is still to make:
// renameLater makes it), the new ones (renamed, the crash came before the
// index said so), or other letters (changed from outside since, which
// wins as any change from outside does). A STORE undone before the
// pause (the letters back as on disk) renames nothing.
//
// Other programs reading the Maildir (a backup, Dovecot on the same
// files) see the old letters until the pause, at most fillWaitMax under
// constant use; closing the mailbox renames what is left. An older sluice
// opening an index with unrenamed entries takes the names' letters, as it
// does for any file changed from outside: it loses those flag changes.

var bUnrenamed = []byte("unrenamed")

// renameBatch is how many files renameLater renames under one hold of the
// mailbox's lock and one index commit: about 12 ms of renames, so that a
// command arriving meanwhile waits no longer than that.
const renameBatch = 1000

// holdRenames, set by a test, keeps every file under its old name: what a
// crash before the renames leaves.
var holdRenames atomic.Bool

// writeUnrenamed records in the mailbox bucket b whether msg's file still
// waits for its rename, creating the bucket (*u) on first use.
func writeUnrenamed(b *bolt.Bucket, u **bolt.Bucket, msg *Message) error {
	if !msg.unrenamed {
		if *u == nil {
			return nil
		}
		return (*u).Delete(uidKey(msg.UID))
	}
	if *u == nil {
		var err error
		if *u, err = b.CreateBucketIfNotExists(bUnrenamed); err != nil {
			return err
		}
	}
	return (*u).Put(uidKey(msg.UID), []byte(msg.onDisk))
}

// deferRename sets c's new Flags while its file in cur/ keeps the name it
// has on disk (that of msg, c's state before the change).
func deferRename(c, msg *Message) {
	if !msg.unrenamed {
		c.unrenamed, c.onDisk = true, msg.Flags
	}
	if c.Flags == c.onDisk { // back to what the name says: nothing to rename
		c.unrenamed, c.onDisk = false, ""
	}
}

// startRenames starts renameLater unless it runs. Called with m.mu held.
func (m *Mailbox) startRenames() {
	if m.renaming || m.gone {
		return
	}
	m.renaming = true
	go m.renameLater()
}

// renameLater renames the files whose flags changed, renameBatch at a
// time, in the pauses between the sessions' commands (as fill reads).
func (m *Mailbox) renameLater() {
	for {
		interrupted := m.awaitPause()
		if interrupted == nil {
			m.mu.Lock()
			m.renaming = false
			m.mu.Unlock()
			return
		}
		m.mu.Lock()
		more := false
		if !m.gone {
			var err error
			if more, err = m.renameLocked(renameBatch, interrupted); err != nil {
				m.a.s.log.Warn("store: renaming message files to their flags", "mailbox", m.name, "err", err)
				more = false // the next change of flags, or the next load, tries again
			}
		}
		if !more {
			m.renaming = false
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
	}
}

// renameNow renames every file still waiting. Called with m.mu held.
func (m *Mailbox) renameNow() {
	for {
		more, err := m.renameLocked(renameBatch, neverInterrupted)
		if err != nil {
			m.a.s.log.Warn("store: renaming message files to their flags", "mailbox", m.name, "err", err)
			return
		}
		if !more {
			return
		}
	}
}

// renameLocked renames up to limit files to the flags the index holds and
// records that in the index, stopping early when interrupted says a
// command came (as settle does); more reports files left. A file not found
// under its old name was renamed or removed from outside: the message is
// no longer waited for, and a full rescan gives it the name's flags, or
// expunges it, as any change from outside. Called with m.mu held.
func (m *Mailbox) renameLocked(limit int, interrupted func() bool) (more bool, err error) {
	if holdRenames.Load() {
		return false, nil
	}
	var done []*Message
	lost := false
	rn := m.newOwnRenamer()
	defer rn.close()
	for _, msg := range m.msgs {
		if !msg.unrenamed {
			continue
		}
		if len(done) == limit || interrupted() {
			more = true
			break
		}
		c := *msg
		c.unrenamed, c.onDisk = false, ""
		if err = rn.rename("cur", msg.name(), "cur", c.name()); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				break
			}
			err, lost = nil, true
		} else if c.lazy != nil {
			c.lazy.moved(m.Path(&c))
		}
		done = append(done, &c)
	}
	if len(done) == 0 {
		return false, err
	}
	// Memory follows the files whatever the commit says: an entry left
	// unrenamed in the index is settled by the next load's sync.
	cerr := m.commit(nil, done, nil, m.next, m.modSeq)
	for _, c := range done {
		if _, msg := m.find(c.UID); msg != nil {
			*msg = *c
		}
	}
	if lost {
		m.changedOutside()
	}
	if err == nil {
		err = cerr
	}
	return more, err
}

// RenameFiles renames now every file of the mailbox still named after its
// old flags, for a caller about to hand the Maildir to another program
// (and for tests that look at the files).
func (m *Mailbox) RenameFiles() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.gone {
		m.renameNow()
	}
}
