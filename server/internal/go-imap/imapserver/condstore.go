package imapserver

// sluice: CONDSTORE and QRESYNC (RFC 7162), server side. The commands'
// parsers call the helpers below; the backend reads the modifiers from
// imap.SelectOptions, FetchOptions, StoreOptions and SearchCriteria and
// writes MODSEQ and VANISHED through FetchResponseWriter and FetchWriter.

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionCondStore is a session that keeps a modification sequence per
// message. The server asks for the selected mailbox's HIGHESTMODSEQ when
// the first CONDSTORE-enabling command runs in the selected state (RFC
// 7162 section 3.1).
type SessionCondStore interface {
	HighestModSeq() uint64
}

// SessionQResync is a session that answers SELECT (QRESYNC ...) with
// the messages that vanished (VANISHED (EARLIER)) and the flags that
// changed since the client's modification sequence (RFC 7162 section
// 3.2.5). It runs after the other SELECT responses.
type SessionQResync interface {
	ResyncSelect(w *FetchWriter, params *imap.SelectQResync) error
}

// ModifiedError is the STORE answer when UNCHANGEDSINCE kept some
// messages unchanged: OK [MODIFIED set] (RFC 7162 section 3.1.3).
func ModifiedError(set imap.NumSet) error {
	return &imap.Error{
		Type: imap.StatusResponseTypeOK,
		Code: imap.ResponseCode("MODIFIED " + set.String()),
		Text: "Conditional STORE failed",
	}
}

// enabledCap reports whether the client enabled cap (ENABLE, or
// implicitly for CONDSTORE).
func (c *Conn) enabledCap(cap imap.Cap) bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(cap)
}

// enableCondStore records a CONDSTORE-enabling command. The first one in
// the selected state is told the mailbox's HIGHESTMODSEQ.
func (c *Conn) enableCondStore() error {
	if !c.server.options.caps().Has(imap.CapCondStore) {
		return newClientBugError("CONDSTORE is not supported")
	}
	c.mutex.Lock()
	was := c.enabled.Has(imap.CapCondStore)
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
	if was || c.state != imap.ConnStateSelected {
		return nil
	}
	if s, ok := c.session.(SessionCondStore); ok {
		return c.writeHighestModSeq(s.HighestModSeq())
	}
	return nil
}

func (c *Conn) writeHighestModSeq(v uint64) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("HIGHESTMODSEQ").SP().ModSeq(v).Special(']')
	enc.SP().Text("Highest")
	return enc.CRLF()
}

// WriteModSeq writes the message's modification sequence.
func (w *FetchResponseWriter) WriteModSeq(v uint64) {
	w.writeItemSep()
	w.enc.Atom("MODSEQ").SP().Special('(').ModSeq(v).Special(')')
}

// WriteVanished writes a VANISHED response: uids are gone, EARLIER when
// they went before this command (RFC 7162 section 3.2.10).
func (w *FetchWriter) WriteVanished(uids imap.UIDSet, earlier bool) error {
	if len(uids) == 0 {
		return nil
	}
	return w.conn.writeVanished(uids, earlier)
}

func (c *Conn) writeVanished(uids imap.UIDSet, earlier bool) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP()
	if earlier {
		enc.Special('(').Atom("EARLIER").Special(')').SP()
	}
	return enc.NumSet(uids).CRLF()
}

// readSelectParams reads SELECT's optional parameter list: (CONDSTORE)
// or (QRESYNC (uidvalidity modseq [known-uids [seq-match]])).
func (c *Conn) readSelectParams(dec *imapwire.Decoder, options *imap.SelectOptions) error {
	if !dec.SP() {
		return nil
	}
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CONDSTORE":
			options.CondStore = true
			return nil
		case "QRESYNC":
			if !c.enabledCap(imap.CapQResync) {
				return newClientBugError("QRESYNC is not enabled")
			}
			options.CondStore = true
			q := &imap.SelectQResync{}
			options.QResync = q
			if !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectNumber(&q.UIDValidity) || !dec.ExpectSP() || !dec.ExpectModSeq(&q.ModSeq) {
				return dec.Err()
			}
			if !dec.SP() {
				return expectClose(dec)
			}
			if !dec.ExpectUIDSet(&q.KnownUIDs) {
				return dec.Err()
			}
			if !dec.SP() {
				return expectClose(dec)
			}
			// The sequence match data only narrows what is reported;
			// a server may report more, so it is read and ignored.
			var seqs imap.NumSet
			var uids imap.UIDSet
			if dec.ExpectSpecial('(') && dec.ExpectNumSet(imapwire.NumKindSeq, &seqs) && dec.ExpectSP() && dec.ExpectUIDSet(&uids) && dec.ExpectSpecial(')') {
				return expectClose(dec)
			}
			return dec.Err()
		}
		return newClientBugError("Unknown SELECT parameter")
	})
}

func expectClose(dec *imapwire.Decoder) error {
	if !dec.ExpectSpecial(')') {
		return dec.Err()
	}
	return nil
}

// readFetchModifiers reads FETCH's optional (CHANGEDSINCE n [VANISHED]).
func (c *Conn) readFetchModifiers(dec *imapwire.Decoder, options *imap.FetchOptions, numKind NumKind) error {
	if !dec.SP() {
		return nil
	}
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CHANGEDSINCE":
			if !dec.ExpectSP() || !dec.ExpectModSeq(&options.ChangedSince) {
				return dec.Err()
			}
			options.ModSeq = true
			return nil
		case "VANISHED":
			if numKind != NumKindUID || !c.enabledCap(imap.CapQResync) {
				return newClientBugError("VANISHED needs UID FETCH with QRESYNC enabled")
			}
			options.Vanished = true
			return nil
		}
		return newClientBugError("Unknown FETCH modifier")
	})
}

// readStoreModifiers reads STORE's optional (UNCHANGEDSINCE n) and
// reports whether there was one.
func readStoreModifiers(dec *imapwire.Decoder, options *imap.StoreOptions) (bool, error) {
	found := false
	isList, err := dec.List(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		if !strings.EqualFold(name, "UNCHANGEDSINCE") {
			return newClientBugError("Unknown STORE modifier")
		}
		found = true
		if !dec.ExpectSP() || !dec.ExpectModSeq(&options.UnchangedSince) {
			return dec.Err()
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if isList && !dec.ExpectSP() {
		return false, dec.Err()
	}
	return found, nil
}

// readSearchModSeq reads the MODSEQ search key's arguments:
// [entry-name entry-type] mod-sequence-valzer.
func readSearchModSeq(dec *imapwire.Decoder, criteria *imap.SearchCriteria) error {
	ms := &imap.SearchCriteriaModSeq{}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var name string
	if dec.String(&name) {
		var typ string
		if !dec.ExpectSP() || !dec.ExpectAtom(&typ) || !dec.ExpectSP() {
			return dec.Err()
		}
		ms.MetadataName = name
		ms.MetadataType = imap.SearchCriteriaMetadataType(strings.ToLower(typ))
	}
	if !dec.ExpectModSeq(&ms.ModSeq) {
		return dec.Err()
	}
	criteria.ModSeq = ms
	return nil
}

// hasModSeq reports whether a search key anywhere in criteria is MODSEQ.
func hasModSeq(c *imap.SearchCriteria) bool {
	if c.ModSeq != nil {
		return true
	}
	for i := range c.Not {
		if hasModSeq(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if hasModSeq(&c.Or[i][0]) || hasModSeq(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

// writeExpungeUID writes EXPUNGE, or VANISHED when the client enabled
// QRESYNC (RFC 7162 section 3.2.10) and the UID is known.
func (w *UpdateWriter) writeExpungeUID(seqNum uint32, uid imap.UID) error {
	if h, ok := w.conn.session.(SessionSearchUpdate); ok && w.allowExpunge {
		// sluice: CONTEXT=SEARCH's REMOVEFROM names the message by the
		// number it has until this expunge (context.go).
		if err := h.Expunging(w, seqNum, uid); err != nil {
			return err
		}
	}
	if uid == 0 || !w.conn.enabledCap(imap.CapQResync) {
		return w.WriteExpunge(seqNum)
	}
	if !w.allowExpunge {
		return fmt.Errorf("imapserver: EXPUNGE updates are not allowed in this context")
	}
	return w.conn.writeVanished(imap.UIDSetNum(uid), false)
}

// writeMessageFlagsModSeq writes FETCH (UID FLAGS), with MODSEQ once the
// client enabled CONDSTORE (RFC 7162 section 3.1.4).
func (w *UpdateWriter) writeMessageFlagsModSeq(seqNum uint32, uid imap.UID, flags []imap.Flag, modSeq uint64) error {
	if modSeq == 0 || !w.conn.enabledCap(imap.CapCondStore) {
		return w.WriteMessageFlags(seqNum, uid, flags)
	}
	fetchWriter := &FetchWriter{conn: w.conn}
	respWriter := fetchWriter.CreateMessage(seqNum)
	if uid != 0 {
		respWriter.WriteUID(uid)
	}
	respWriter.WriteFlags(flags)
	respWriter.WriteModSeq(modSeq)
	return respWriter.Close()
}

// CondStoreEnabled reports whether the client enabled CONDSTORE, by
// ENABLE or by a command that uses it (sluice).
func (c *Conn) CondStoreEnabled() bool { return c.enabledCap(imap.CapCondStore) }

// QResyncEnabled reports whether the client enabled QRESYNC (sluice).
func (c *Conn) QResyncEnabled() bool { return c.enabledCap(imap.CapQResync) }
