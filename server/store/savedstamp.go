package store

import (
	"bytes"
	"encoding/binary"
	"os"

	bolt "go.etcd.io/bbolt"
)

// A mailbox closed with a settled stamp (dirstamp.go) keeps it in the
// index, so that the first SELECT after a restart need not list new/ and
// cur/ again (a third of loading 10,000 messages, BenchmarkLoadAfterRestart)
// while nothing changed meanwhile; Dovecot keeps its directories' mtimes
// the same way. The stamp is saved with the mailbox's UIDVALIDITY,
// UIDNEXT, HIGHESTMODSEQ and message count: the store changes a
// directory before the index (a file is written, renamed or removed,
// then recorded), so an index that moved on since the stamp, its
// directory change lost to a crash, does not match it, and neither does
// a directory changed by anyone while sluice was down. A load that
// finds it stale lists, as always.

// kDirStamp is the saved stamp's key in the mailbox's bucket.
var kDirStamp = []byte("dirstamp")

// savedStamp encodes a stamp with the mailbox's counters; nil when the
// stamp is empty or this system gives no file IDs.
func (m *Mailbox) savedStamp(s dirStamp) []byte {
	if s.new == nil || s.cur == nil {
		return nil
	}
	b := make([]byte, 0, 12*8)
	for _, fi := range []os.FileInfo{s.new, s.cur} {
		dev, ino, ok := fileID(fi)
		if !ok {
			return nil
		}
		t := fi.ModTime()
		for _, v := range []uint64{dev, ino, uint64(t.Unix()), uint64(t.Nanosecond())} {
			b = binary.BigEndian.AppendUint64(b, v)
		}
	}
	for _, v := range []uint64{uint64(m.validity), uint64(m.next), m.modSeq, uint64(len(m.msgs))} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

// useSavedStamp takes the stamp saved at the last close as the last
// listing's when the directories and the loaded index still match it.
// Called by loadMailbox before its first sync.
func (m *Mailbox) useSavedStamp(saved []byte) {
	if saved == nil {
		return
	}
	now, err := m.statDirs()
	if err == nil && bytes.Equal(m.savedStamp(now), saved) {
		m.stamp, m.saved = now, saved
	}
}

// saveStamp keeps the last listing's stamp in the index when the
// directories have not changed since (at close, after the pending
// renames). Called with m.mu held.
func (m *Mailbox) saveStamp() {
	if m.stamp.new == nil {
		return
	}
	now, err := m.statDirs()
	if err != nil || !m.stamp.same(now) {
		return
	}
	v := m.savedStamp(m.stamp)
	if v == nil || bytes.Equal(v, m.saved) {
		return
	}
	err = m.a.db.Update(func(tx *bolt.Tx) error {
		b, err := boxBucket(tx, m.name, false)
		if err != nil || b == nil {
			return err
		}
		return b.Put(kDirStamp, v)
	})
	if err != nil {
		m.a.s.log.Warn("store: saving the mailbox's directory stamp", "mailbox", m.name, "err", err)
		return
	}
	m.saved = v
}
