package imap

import (
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// pollRescan is how stale a mailbox may be before a command that polls
// (every command, NOOP included) rescans its directory for changes made
// outside the store.
const pollRescan = 2 * time.Second

// Select opens a mailbox for this session (EXAMINE: read-only).
func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	m, err := s.acct.Mailbox(name)
	if err != nil {
		return nil, imapError(err)
	}
	st, tr, err := m.Watch()
	if err != nil {
		return nil, imapError(err)
	}
	s.Close()
	s.mbox, s.tracker, s.readOnly = m, tr, options.ReadOnly
	tr.SetBeforeFlags(s.announceRelayed)
	if options.ReadOnly {
		s.peekRecent(st.UIDNext)
	} else {
		s.claimRecent()
	}
	s.learnKeywords(st.Keywords)
	s.newFrom = st.UIDNext
	flags, perm := s.mailboxFlags()
	return &imap.SelectData{
		Flags:             flags,
		PermanentFlags:    perm,
		NumMessages:       st.Messages,
		NumRecent:         s.countRecent(st.Messages),
		FirstUnseenSeqNum: st.FirstUnseen,
		UIDNext:           imap.UID(st.UIDNext),
		UIDValidity:       st.UIDValidity,
		HighestModSeq:     max(st.HighestModSeq, 1),
	}, nil
}

// Unselect leaves the selected mailbox (UNSELECT, CLOSE).
func (s *session) Unselect() error { return s.Close() }

// Poll sends the changes other sessions, deliveries and outside tools
// made to the selected mailbox.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if err := s.pollSelected(w, allowExpunge); err != nil {
		return err
	}
	return s.pollNotify(w, allowExpunge)
}

func (s *session) pollSelected(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.mbox == nil {
		return nil
	}
	if err := s.mbox.SyncIfStale(pollRescan); err != nil {
		s.srv.log.Warn("imap: rescanning mailbox", "user", s.acct.User(), "mailbox", s.mbox.Name(), "err", err)
	}
	if err := s.tracker.Poll(w, allowExpunge); err != nil {
		return err
	}
	if err := s.pollRecent(w); err != nil {
		return err
	}
	return s.pollSearches(w)
}

// Idle streams changes until the client sends DONE. Deliveries through the
// store reach it at once; other changes at the store's periodic rescan.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.ntf != nil {
		return s.idleNotify(w, stop) // notify.go
	}
	if err := s.Poll(w, true); err != nil {
		return err
	}
	return s.idlePlain(w, stop)
}

func (s *session) idlePlain(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.mbox == nil {
		<-stop
		return nil
	}
	return s.tracker.Idle(w, stop)
}

// Expunge removes \Deleted messages (all, or those in uids for UID
// EXPUNGE). The EXPUNGE responses go out with the next poll, which the
// server runs right after the command (and never for CLOSE).
func (s *session) Expunge(_ *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if s.readOnly {
		return nil // CLOSE after EXAMINE expunges nothing
	}
	_, err := s.mbox.Expunge(uids)
	return imapError(err)
}

// target is one message a command applies to.
type target struct {
	seq uint32 // as the client numbers it
	msg store.Message
}

// targets resolves a sequence or UID set against the session's view of
// the mailbox ("*" is the last message the client knows of).
func (s *session) targets(numSet imap.NumSet) ([]target, error) {
	var out []target
	err := s.mbox.View(func(msgs []*store.Message) error {
		numSet = s.static(numSet, msgs)
		// Room for all at once: SEARCH, SORT and FETCH 1:* take every
		// message, and growing the slice copied 10,000 targets over and
		// over (most of SEARCH's time in bench/imap's profile).
		out = make([]target, 0, setSize(numSet, len(msgs)))
		for i, msg := range msgs {
			seq := s.tracker.EncodeSeqNum(uint32(i + 1))
			switch set := numSet.(type) {
			case imap.SeqSet:
				if seq == 0 || !set.Contains(seq) {
					continue
				}
			case imap.UIDSet:
				if !set.Contains(imap.UID(msg.UID)) {
					continue
				}
			}
			out = append(out, target{seq: seq, msg: *msg})
		}
		return nil
	})
	return out, imapError(err)
}

// setSize bounds how many of n messages a set without "*" can name.
func setSize(numSet imap.NumSet, n int) int {
	total := 0
	add := func(start, stop uint32) {
		total += int(max(start, stop)-min(start, stop)) + 1
	}
	switch set := numSet.(type) {
	case imap.SeqSet:
		for _, r := range set {
			add(r.Start, r.Stop)
		}
	case imap.UIDSet:
		for _, r := range set {
			add(uint32(r.Start), uint32(r.Stop))
		}
	}
	return min(total, n)
}

// static replaces "*" in a set by its value in this session's view.
func (s *session) static(numSet imap.NumSet, msgs []*store.Message) imap.NumSet {
	switch set := numSet.(type) {
	case imap.SeqSet:
		n := uint32(len(msgs))
		for n > 0 && s.tracker.EncodeSeqNum(n) == 0 {
			n--
		}
		max := s.tracker.EncodeSeqNum(n)
		out := make(imap.SeqSet, len(set))
		for i, r := range set {
			staticRange(&r.Start, &r.Stop, max)
			out[i] = r
		}
		return out
	case imap.UIDSet:
		var max uint32
		if len(msgs) > 0 {
			max = msgs[len(msgs)-1].UID
		}
		out := make(imap.UIDSet, len(set))
		for i, r := range set {
			staticRange((*uint32)(&r.Start), (*uint32)(&r.Stop), max)
			out[i] = r
		}
		return out
	}
	return numSet
}

func staticRange(start, stop *uint32, max uint32) {
	dyn := false
	if *start == 0 {
		*start, dyn = max, true
	}
	if *stop == 0 {
		*stop, dyn = max, true
	}
	if dyn && *start > *stop {
		*start, *stop = *stop, *start
	}
}

func uidsOf(ts []target) []uint32 {
	out := make([]uint32, len(ts))
	for i, t := range ts {
		out[i] = t.msg.UID
	}
	return out
}

// Copy copies messages to another mailbox (COPY, UID COPY) with COPYUID.
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.transfer(numSet, dest, false)
}

// Move moves messages (MOVE, UID MOVE): COPYUID, then the EXPUNGEs,
// which the poll after the command sends.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.readOnly {
		return errReadOnly
	}
	data, err := s.transfer(numSet, dest, true)
	if err != nil || data == nil {
		return err
	}
	return w.WriteCopyData(data)
}

func (s *session) transfer(numSet imap.NumSet, dest string, move bool) (*imap.CopyData, error) {
	defer s.mbox.Busy()() // the store's background fill waits (store/lazy.go)
	dm, err := s.acct.Mailbox(dest)
	if err != nil {
		return nil, tryCreate(err)
	}
	ts, err := s.targets(numSet)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, nil // nothing matched: OK without COPYUID (RFC 4315)
	}
	src, dst, err := s.mbox.Transfer(dm, uidsOf(ts), move)
	if err != nil && len(src) == 0 {
		return nil, imapError(err)
	}
	if err != nil {
		s.srv.log.Warn("imap: partial copy", "user", s.acct.User(), "err", err)
	}
	data := &imap.CopyData{UIDValidity: dm.Validity()}
	for i := range src {
		data.SourceUIDs.AddNum(imap.UID(src[i]))
		data.DestUIDs.AddNum(imap.UID(dst[i]))
	}
	return data, nil
}
