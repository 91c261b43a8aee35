package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// \Recent (RFC 3501 section 2.3.2) is per session: a read-write session
// claims from the store the messages no session has seen yet, when it
// selects the mailbox and whenever it polls; EXAMINE shows the unclaimed
// ones as recent without claiming them, so a later SELECT still sees them.

// flagRecent is the \Recent system flag (go-imap v2 keeps it internal,
// as IMAP4rev2 dropped it).
const flagRecent imap.Flag = `\Recent`

// claimRecent adds the UIDs the store hands this session to its recent
// set and says whether there were any.
func (s *session) claimRecent() bool {
	if s.readOnly {
		return false
	}
	from, to := s.mbox.ClaimRecent()
	if from >= to {
		return false
	}
	s.recent.AddRange(imap.UID(from), imap.UID(to-1))
	return true
}

// peekRecent is EXAMINE's view: the unclaimed messages up to uidNext.
func (s *session) peekRecent(uidNext uint32) {
	if from := s.mbox.RecentFrom(); from < uidNext {
		s.recent.AddRange(imap.UID(from), imap.UID(uidNext-1))
	}
}

func (s *session) isRecent(uid uint32) bool {
	return len(s.recent) > 0 && s.recent.Contains(imap.UID(uid))
}

// countRecent counts the recent messages among the first n the session
// knows of.
func (s *session) countRecent(n uint32) uint32 {
	if len(s.recent) == 0 {
		return 0
	}
	var count uint32
	s.mbox.View(func(msgs []*store.Message) error {
		for i, msg := range msgs {
			seq := s.tracker.EncodeSeqNum(uint32(i + 1))
			if seq == 0 || seq > n {
				continue
			}
			if s.isRecent(msg.UID) {
				count++
			}
		}
		return nil
	})
	return count
}

// pollRecent claims what arrived since the last poll and, when that adds
// recent messages, sends the new RECENT count after the tracker's EXISTS.
func (s *session) pollRecent(w *imapserver.UpdateWriter) error {
	if !s.claimRecent() {
		return nil
	}
	return w.WriteNumRecent(s.countRecent(^uint32(0)))
}

// withRecent is a message's flags as this session sees them.
func (s *session) withRecent(msg *store.Message) []imap.Flag {
	flags := msg.IMAPFlags()
	if s.isRecent(msg.UID) {
		flags = append([]imap.Flag{flagRecent}, flags...)
	}
	return flags
}
