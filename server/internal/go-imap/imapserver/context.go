package imapserver

// sluice: CONTEXT=SEARCH (RFC 5267): the PARTIAL, UPDATE and CONTEXT
// return options of ESEARCH, CANCELUPDATE, and the writer for the
// ADDTO/REMOVEFROM updates. The session keeps the live searches.

import (
	"strconv"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionSearchUpdate is a session that keeps searches made with
// RETURN (UPDATE) current, telling the client with
// UpdateWriter.WriteSearchUpdate as messages join or leave the result
// (RFC 5267 section 4).
type SessionSearchUpdate interface {
	// WatchSearch starts updates for the search just answered, named by
	// its command tag.
	WatchSearch(tag string, kind NumKind, criteria *imap.SearchCriteria) error
	// CancelSearchUpdate stops the updates of the searches with these
	// tags and reports whether every tag named one.
	CancelSearchUpdate(tags []string) bool
	// Expunging runs before the EXPUNGE (or VANISHED) of a message is
	// written, while seqNum still names it.
	Expunging(w *UpdateWriter, seqNum uint32, uid imap.UID) error
}

func readContextReturnOpt(dec *imapwire.Decoder, name string, options *imap.SearchOptions) error {
	switch name {
	case "UPDATE":
		options.ReturnUpdate = true
	case "PARTIAL":
		var low, high int32
		if !dec.ExpectSP() || !readPartialNum(dec, &low) || !dec.ExpectSpecial(':') || !readPartialNum(dec, &high) {
			return newClientBugError("PARTIAL needs a range like 1:100")
		}
		if (low < 0) != (high < 0) {
			return newClientBugError("PARTIAL range mixes signs")
		}
		if low > high && low > 0 || low < high && low < 0 {
			low, high = high, low
		}
		options.ReturnPartial = &imap.SearchReturnPartial{Low: low, High: high}
	case "CONTEXT":
		// A hint that the client may ask for updates later; nothing to do.
	}
	return nil
}

// readPartialNum reads a nonzero, optionally negative, 32-bit position.
func readPartialNum(dec *imapwire.Decoder, v *int32) bool {
	neg := dec.Special('-')
	var n uint32
	if !dec.Number(&n) || n == 0 || n > 1<<31-1 {
		return false
	}
	*v = int32(n)
	if neg {
		*v = -*v
	}
	return true
}

// writePartial writes PARTIAL (range set|NIL): the results at positions
// low..high of all, in order.
func writePartial(enc *responseEncoder, p *imap.SearchReturnPartial, all imap.NumSet) {
	var nums []uint32
	switch set := all.(type) {
	case imap.SeqSet:
		nums, _ = set.Nums()
	case imap.UIDSet:
		uids, _ := set.Nums()
		for _, u := range uids {
			nums = append(nums, uint32(u))
		}
	}
	lo, hi := int(p.Low), int(p.High)
	if lo < 0 { // from the end: -1 is the last
		lo, hi = len(nums)+1+hi, len(nums)+1+lo
	}
	if lo < 1 {
		lo = 1
	}
	if hi > len(nums) {
		hi = len(nums)
	}
	enc.SP().Atom("PARTIAL").SP().Special('(')
	enc.Atom(partialRange(p)).SP()
	if lo > hi {
		enc.NIL()
	} else {
		var out imap.SeqSet
		out.AddNum(nums[lo-1 : hi]...)
		enc.NumSet(out)
	}
	enc.Special(')')
}

func partialRange(p *imap.SearchReturnPartial) string {
	return strconv.Itoa(int(p.Low)) + ":" + strconv.Itoa(int(p.High))
}

func (c *Conn) watchSearch(tag string, kind NumKind, criteria *imap.SearchCriteria) error {
	s, ok := c.session.(SessionSearchUpdate)
	if !ok {
		return newClientBugError("UPDATE is not supported")
	}
	return s.WatchSearch(tag, kind, criteria)
}

// handleCancelUpdate: CANCELUPDATE "tag" ["tag" ...].
func (c *Conn) handleCancelUpdate(dec *imapwire.Decoder) error {
	var tags []string
	for dec.SP() {
		var tag string
		if !dec.ExpectAString(&tag) {
			return dec.Err()
		}
		tags = append(tags, tag)
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	s, ok := c.session.(SessionSearchUpdate)
	if !ok || len(tags) == 0 || !s.CancelSearchUpdate(tags) {
		return newClientBugError("No such search to cancel")
	}
	return nil
}

// WriteSearchUpdate writes * ESEARCH (TAG "tag") [UID] ADDTO (pos set) or
// REMOVEFROM (RFC 5267 section 4.3). Position 0 means "unordered", as a
// SEARCH result is.
func (w *UpdateWriter) WriteSearchUpdate(tag string, kind NumKind, add bool, set imap.NumSet) error {
	enc := newResponseEncoder(w.conn)
	defer enc.end()
	enc.Atom("*").SP().Atom("ESEARCH").SP().Special('(').Atom("TAG").SP().String(tag).Special(')')
	if kind == NumKindUID {
		enc.SP().Atom("UID")
	}
	op := "REMOVEFROM"
	if add {
		op = "ADDTO"
	}
	enc.SP().Atom(op).SP().Special('(').Number(0).SP().NumSet(set).Special(')')
	return enc.CRLF()
}
