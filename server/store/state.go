package store

import (
	"encoding/binary"
	"errors"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// A message's index entry (record) holds what never changes (its file's
// base name, size, date, envelope, keys) beside what does (flags,
// keywords, MODSEQ). STORE 1:* +FLAGS on 10,000 messages rewrote 10,000
// whole entries, envelopes included: 5 MB of JSON encoded and written,
// where Dovecot writes a few bytes per message. A change of state now
// writes only the state, into the mailbox's "state" bucket under the same
// UID key; it overrides the entry's own flags, keywords, MODSEQ and
// sub-directory when the mailbox is loaded. Writing a whole entry deletes
// the state beside it, which the entry then holds.
//
// An older sluice reading this index ignores the state bucket: it sees
// the flags of the file names (a sync renews them from the Maildir), but
// keywords and MODSEQs as the entries last held them.

var bState = []byte("state")

// encodeState is a message's state: MODSEQ (8 bytes), 'n' for a file in
// new/ or 'c', the flag letters, a NUL, and the keywords separated by
// spaces (IMAP atoms hold neither).
func encodeState(msg *Message) []byte {
	b := make([]byte, 8, 8+2+len(msg.Flags)+16*len(msg.Keywords))
	binary.BigEndian.PutUint64(b, msg.ModSeq)
	sub := byte('c')
	if msg.sub == "new" {
		sub = 'n'
	}
	b = append(b, sub)
	b = append(b, msg.Flags...)
	b = append(b, 0)
	return append(b, strings.Join(msg.Keywords, " ")...)
}

// applyState sets msg's state from encodeState's bytes.
func applyState(msg *Message, v []byte) error {
	if len(v) < 10 {
		return errors.New("short state entry")
	}
	flags, kw, ok := strings.Cut(string(v[9:]), "\x00")
	if !ok {
		return errors.New("state entry without its separator")
	}
	msg.ModSeq = binary.BigEndian.Uint64(v)
	msg.sub = "cur"
	if v[8] == 'n' {
		msg.sub = "new"
	}
	msg.Flags = flags
	msg.Keywords = nil
	if kw != "" {
		msg.Keywords = strings.Split(kw, " ")
	}
	return nil
}

// writeMessages writes whole entries for full, states for changed, and
// deletes both for removed, in the mailbox bucket b.
func writeMessages(b *bolt.Bucket, full, changed, removed []*Message) error {
	msgs := b.Bucket(bMsgs)
	state := b.Bucket(bState)
	if state == nil && len(changed) > 0 {
		var err error
		if state, err = b.CreateBucket(bState); err != nil {
			return err
		}
	}
	unrenamed := b.Bucket(bUnrenamed)
	for _, msg := range full {
		if err := msgs.Put(uidKey(msg.UID), encodeRecord(msg)); err != nil {
			return err
		}
		if state != nil {
			if err := state.Delete(uidKey(msg.UID)); err != nil {
				return err
			}
		}
		if err := writeUnrenamed(b, &unrenamed, msg); err != nil {
			return err
		}
	}
	for _, msg := range changed {
		if err := state.Put(uidKey(msg.UID), encodeState(msg)); err != nil {
			return err
		}
		if err := writeUnrenamed(b, &unrenamed, msg); err != nil {
			return err
		}
	}
	for _, msg := range removed {
		if err := msgs.Delete(uidKey(msg.UID)); err != nil {
			return err
		}
		if state != nil {
			if err := state.Delete(uidKey(msg.UID)); err != nil {
				return err
			}
		}
		if unrenamed != nil {
			if err := unrenamed.Delete(uidKey(msg.UID)); err != nil {
				return err
			}
		}
	}
	return nil
}
