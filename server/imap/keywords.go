package imap

import (
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// A client learns the keywords of a mailbox from FLAGS (and
// PERMANENTFLAGS); a keyword it has not been told of must be announced
// with a new FLAGS response before a FETCH shows it (RFC 3501 section
// 7.2.6). The session keeps the set it has announced, starting with
// SELECT's, and widens it before any FETCH FLAGS it writes or relays.

// systemFlags are the flags every mailbox offers.
var systemFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft, "$Forwarded"}

// mailboxFlags is the FLAGS list for the keywords announced, and the
// PERMANENTFLAGS list (nil for a read-only session).
func (s *session) mailboxFlags() (flags, permanent []imap.Flag) {
	flags = slices.Clone(systemFlags)
	var kws []string
	for k := range s.keywords {
		if !slices.Contains(systemFlags, imap.Flag(k)) {
			kws = append(kws, k)
		}
	}
	slices.Sort(kws)
	for _, k := range kws {
		flags = append(flags, imap.Flag(k))
	}
	if !s.readOnly {
		permanent = append(slices.Clone(flags), imap.FlagWildcard)
	}
	return flags, permanent
}

// learnKeywords adds keywords to the announced set and says whether any
// was new.
func (s *session) learnKeywords(kws []string) bool {
	added := false
	for _, k := range kws {
		if !s.keywords[k] {
			if s.keywords == nil {
				s.keywords = map[string]bool{}
			}
			s.keywords[k] = true
			added = true
		}
	}
	return added
}

// announceFor writes FLAGS and PERMANENTFLAGS within a FETCH or STORE
// when the messages about to be shown carry a keyword not announced yet.
func (s *session) announceFor(w *imapserver.FetchWriter, ts []target) error {
	added := false
	for _, t := range ts {
		if s.learnKeywords(t.msg.Keywords) {
			added = true
		}
	}
	if !added {
		return nil
	}
	return w.WriteMailboxFlags(s.mailboxFlags())
}

// announceRelayed runs before the tracker relays another session's flag
// change (imapserver.SessionTracker.SetBeforeFlags): a keyword in it
// that the client was not told of is announced first. Looking at the
// mailbox before the poll was not enough, since another session may set
// a new keyword between that look and the tracker's dequeue, and the
// FETCH would then show a keyword the client never saw in FLAGS.
func (s *session) announceRelayed(w *imapserver.UpdateWriter, flags []imap.Flag) error {
	added := false
	for _, f := range flags {
		if len(f) > 0 && f[0] != '\\' && s.learnKeywords([]string{string(f)}) {
			added = true
		}
	}
	if !added {
		return nil
	}
	flagList, permanent := s.mailboxFlags()
	if err := w.WriteMailboxFlags(flagList); err != nil {
		return err
	}
	if permanent == nil {
		return nil
	}
	return w.WritePermanentFlags(permanent)
}
