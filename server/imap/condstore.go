package imap

// CONDSTORE and QRESYNC (RFC 7162). The store gives every message a
// modification sequence (MODSEQ), persisted in the mailbox's index and
// raised by every flag change; the mailbox's own (HIGHESTMODSEQ) is also
// raised by each expunge. The store keeps no record of expunged UIDs, so
// VANISHED (EARLIER) names every UID in the client's range that is not in
// the mailbox, which RFC 7162 section 3.2.5.2 allows (a client ignores
// UIDs it did not know).

import (
	"cmp"
	"slices"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

var (
	_ imapserver.SessionCondStore = (*session)(nil)
	_ imapserver.SessionQResync   = (*session)(nil)
)

// modSeqOf is a message's MODSEQ; RFC 7162 makes zero invalid, and a
// message indexed before MODSEQs existed has none.
func modSeqOf(msg *store.Message) uint64 { return max(msg.ModSeq, 1) }

// HighestModSeq is the selected mailbox's HIGHESTMODSEQ, sent when a
// command first enables CONDSTORE.
func (s *session) HighestModSeq() uint64 {
	if s.mbox == nil {
		return 1
	}
	return max(s.mbox.HighestModSeq(), 1)
}

// ResyncSelect answers SELECT (QRESYNC (uidvalidity modseq [known]))
// after the usual responses: VANISHED (EARLIER) for what is gone, then
// FETCH (UID FLAGS MODSEQ) for each message changed since modseq. A
// stale UIDVALIDITY gets nothing: the client must start afresh.
func (s *session) ResyncSelect(w *imapserver.FetchWriter, q *imap.SelectQResync) error {
	if q.UIDValidity != s.mbox.Validity() {
		return nil
	}
	known := imap.NumSet(q.KnownUIDs)
	if q.KnownUIDs == nil {
		known = imap.UIDSet{{Start: 1, Stop: 0}}
	}
	if err := s.writeVanished(w, known, q.ModSeq); err != nil {
		return err
	}
	ts, err := s.targets(known)
	if err != nil {
		return err
	}
	ts = changedSince(ts, q.ModSeq)
	if err := s.announceFor(w, ts); err != nil {
		return err
	}
	for _, t := range ts {
		rw := w.CreateMessage(t.seq)
		rw.WriteUID(imap.UID(t.msg.UID))
		rw.WriteFlags(s.withRecent(&t.msg))
		rw.WriteModSeq(modSeqOf(&t.msg))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	s.tracker.DropStale(shownIn(ts)) // changes queued since SELECT that ts already shows
	return nil
}

// writeVanished sends VANISHED (EARLIER) with the UIDs of set (a UID
// set, "*" being the last UID) that are no longer in the mailbox, unless
// nothing at all changed since modSeq.
func (s *session) writeVanished(w *imapserver.FetchWriter, set imap.NumSet, modSeq uint64) error {
	uids, ok := set.(imap.UIDSet)
	if !ok || modSeq >= s.HighestModSeq() {
		return nil
	}
	var present []uint32
	var last uint32
	err := s.mbox.View(func(msgs []*store.Message) error {
		uids = s.static(uids, msgs).(imap.UIDSet)
		present = make([]uint32, len(msgs))
		for i, m := range msgs {
			present[i] = m.UID
		}
		return nil
	})
	if err != nil {
		return imapError(err)
	}
	if next := s.mbox.UIDNext(); next > 0 {
		last = next - 1
	}
	return w.WriteVanished(missingUIDs(uids, present, last), true)
}

// missingUIDs returns the UIDs of set, up to last, that are not in
// present (sorted). It walks the ranges' gaps, so a client's 1:4294967295
// costs no more than the mailbox's size.
func missingUIDs(set imap.UIDSet, present []uint32, last uint32) imap.UIDSet {
	var out imap.UIDSet
	for _, r := range set {
		start, stop := uint32(r.Start), uint32(r.Stop)
		if stop == 0 || stop > last {
			stop = last
		}
		if start == 0 || start > stop {
			continue
		}
		i := sort.Search(len(present), func(i int) bool { return present[i] >= start })
		next := start
		for ; i < len(present) && present[i] <= stop; i++ {
			if present[i] > next {
				out.AddRange(imap.UID(next), imap.UID(present[i]-1))
			}
			next = present[i] + 1
		}
		if next <= stop && next != 0 {
			out.AddRange(imap.UID(next), imap.UID(stop))
		}
	}
	return out
}

// changedSince keeps the messages whose MODSEQ is above modSeq (FETCH
// CHANGEDSINCE, QRESYNC).
func changedSince(ts []target, modSeq uint64) []target {
	out := ts[:0:0]
	for _, t := range ts {
		if modSeqOf(&t.msg) > modSeq {
			out = append(out, t)
		}
	}
	return out
}

// refresh re-reads the flags, keywords and MODSEQs of ts after this
// command changed them (a FETCH of a body sets \Seen). The session's own
// change is not queued for it, while other sessions' changes made since
// ts were read are, with lower MODSEQs than the one the answer must
// carry: the answer shows the messages as they are now, and the stale
// updates are dropped (imapserver.SessionTracker.DropStale) rather than
// sent after it.
func (s *session) refresh(ts []target) {
	s.mbox.View(func(msgs []*store.Message) error {
		for i := range ts {
			j, ok := slices.BinarySearchFunc(msgs, ts[i].msg.UID, func(m *store.Message, uid uint32) int {
				return cmp.Compare(m.UID, uid)
			})
			if ok {
				ts[i].msg = *msgs[j]
			}
		}
		return nil
	})
}

// shownIn looks up the MODSEQ at which ts (in UID order, as targets
// gives them) showed a message, for imapserver.SessionTracker.DropStale.
func shownIn(ts []target) func(imap.UID) (uint64, bool) {
	return func(uid imap.UID) (uint64, bool) {
		i, ok := slices.BinarySearchFunc(ts, uint32(uid), func(t target, uid uint32) int {
			return cmp.Compare(t.msg.UID, uid)
		})
		if !ok {
			return 0, false
		}
		return ts[i].msg.ModSeq, true
	}
}

// modifiedSet numbers the messages that UNCHANGEDSINCE left alone as the
// command numbered them (sequence numbers or UIDs), for OK [MODIFIED].
func modifiedSet(numSet imap.NumSet, ts []target, modified []uint32) imap.NumSet {
	if _, ok := numSet.(imap.UIDSet); ok {
		var out imap.UIDSet
		for _, uid := range modified {
			out.AddNum(imap.UID(uid))
		}
		return out
	}
	var out imap.SeqSet
	for _, t := range ts {
		if slices.Contains(modified, t.msg.UID) {
			out.AddNum(t.seq)
		}
	}
	return out
}

// hasModSeqKey reports whether criteria use the MODSEQ search key, whose
// results carry a MODSEQ (RFC 7162 section 3.1.5).
func hasModSeqKey(c *imap.SearchCriteria) bool {
	if c.ModSeq != nil {
		return true
	}
	for i := range c.Not {
		if hasModSeqKey(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if hasModSeqKey(&c.Or[i][0]) || hasModSeqKey(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

// searchModSeq is the MODSEQ a SEARCH result carries: the highest of
// the messages it returns. ESEARCH with only MIN and/or MAX returns just
// those messages (RFC 4731 section 3.2, RFC 7162 section 3.1.5).
func searchModSeq(found []target, kind imapserver.NumKind, o *imap.SearchOptions, lo, hi uint32) uint64 {
	onlyEnds := o != nil && (o.ReturnMin || o.ReturnMax) && !o.ReturnAll && !o.ReturnCount
	var best uint64
	for _, t := range found {
		num := t.seq
		if kind == imapserver.NumKindUID {
			num = t.msg.UID
		}
		if onlyEnds && !(o.ReturnMin && num == lo || o.ReturnMax && num == hi) {
			continue
		}
		best = max(best, modSeqOf(&t.msg))
	}
	return best
}
