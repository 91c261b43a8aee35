package imap

// CONTEXT=SEARCH (RFC 5267): a SEARCH made with RETURN (UPDATE) stays
// live until CANCELUPDATE or the mailbox is closed. After every command
// (the poll) each live search is run again if the mailbox changed, and
// the client hears ADDTO for messages that joined the result and
// REMOVEFROM for those that left it; an expunged message leaves with a
// REMOVEFROM written just before its EXPUNGE, while its number is valid.

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

var _ imapserver.SessionSearchUpdate = (*session)(nil)

// liveSearch is one search with RETURN (UPDATE).
type liveSearch struct {
	tag      string
	kind     imapserver.NumKind
	criteria imap.SearchCriteria
	result   map[uint32]bool // UIDs
}

// searchState is the key that tells whether a live search may have a
// new result: any flag change, expunge or new message moves it.
type searchState struct{ modSeq, uidNext uint64 }

// WatchSearch starts updates for the search just answered.
func (s *session) WatchSearch(tag string, kind imapserver.NumKind, criteria *imap.SearchCriteria) error {
	found, err := s.matching(criteria)
	if err != nil {
		return err
	}
	ls := &liveSearch{tag: tag, kind: kind, criteria: *criteria, result: map[uint32]bool{}}
	for _, t := range found {
		ls.result[t.msg.UID] = true
	}
	s.live = append(s.live, ls)
	s.liveAt = s.searchState()
	return nil
}

// CancelSearchUpdate stops the named live searches.
func (s *session) CancelSearchUpdate(tags []string) bool {
	all := true
	for _, tag := range tags {
		i := s.liveIndex(tag)
		if i < 0 {
			all = false
			continue
		}
		s.live = append(s.live[:i], s.live[i+1:]...)
	}
	return all
}

func (s *session) liveIndex(tag string) int {
	for i, ls := range s.live {
		if ls.tag == tag {
			return i
		}
	}
	return -1
}

// Expunging sends REMOVEFROM for a message about to be reported expunged.
func (s *session) Expunging(w *imapserver.UpdateWriter, seq uint32, uid imap.UID) error {
	for _, ls := range s.live {
		if !ls.result[uint32(uid)] {
			continue
		}
		delete(ls.result, uint32(uid))
		var set imap.NumSet = imap.SeqSetNum(seq)
		if ls.kind == imapserver.NumKindUID {
			set = imap.UIDSetNum(uid)
		}
		if err := w.WriteSearchUpdate(ls.tag, ls.kind, false, set); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) searchState() searchState {
	return searchState{modSeq: s.mbox.HighestModSeq(), uidNext: uint64(s.mbox.UIDNext())}
}

// pollSearches runs the live searches again when the mailbox changed. A
// message of the old result that is no longer in the mailbox is left for
// Expunging, which alone knows the number the client has for it.
func (s *session) pollSearches(w *imapserver.UpdateWriter) error {
	if len(s.live) == 0 || s.searchState() == s.liveAt {
		return nil
	}
	s.liveAt = s.searchState()
	present, err := s.targets(imap.SeqSet{{Start: 1, Stop: 0}})
	if err != nil {
		return err
	}
	for _, ls := range s.live {
		found, err := s.matching(&ls.criteria)
		if err != nil {
			return err
		}
		now := map[uint32]bool{}
		var added, removed []target
		for _, t := range found {
			now[t.msg.UID] = true
			if !ls.result[t.msg.UID] {
				added = append(added, t)
			}
		}
		for _, t := range present {
			if ls.result[t.msg.UID] && !now[t.msg.UID] {
				removed = append(removed, t)
			}
		}
		for _, t := range added {
			ls.result[t.msg.UID] = true
		}
		for _, t := range removed {
			delete(ls.result, t.msg.UID)
		}
		if err := writeSearchChange(w, ls, removed, false); err != nil {
			return err
		}
		if err := writeSearchChange(w, ls, added, true); err != nil {
			return err
		}
	}
	return nil
}

func writeSearchChange(w *imapserver.UpdateWriter, ls *liveSearch, ts []target, add bool) error {
	if len(ts) == 0 {
		return nil
	}
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for _, t := range ts {
		seqs.AddNum(t.seq)
		uids.AddNum(imap.UID(t.msg.UID))
	}
	var set imap.NumSet = seqs
	if ls.kind == imapserver.NumKindUID {
		set = uids
	}
	return w.WriteSearchUpdate(ls.tag, ls.kind, add, set)
}
