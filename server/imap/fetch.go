package imap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// Fetch answers FETCH and UID FETCH for every item: FLAGS, INTERNALDATE,
// RFC822.SIZE, ENVELOPE (from the index, without opening the file),
// BODYSTRUCTURE, BODY[section]<partial> and BODY.PEEK, BINARY and
// BINARY.SIZE. A non-peek body fetch sets \Seen unless the mailbox was
// opened with EXAMINE.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	defer s.mbox.Busy()() // the store's background fill waits (store/lazy.go)
	ts, err := s.targets(numSet)
	if err != nil {
		return err
	}
	if options.Vanished {
		if err := s.writeVanished(w, numSet, options.ChangedSince); err != nil {
			return err
		}
	}
	if options.ChangedSince != 0 {
		ts = changedSince(ts, options.ChangedSince)
	}
	if options.Envelope || options.RFC822Size || options.InternalDate {
		loadContent(ts) // in parallel, for a mailbox still being indexed (search.go)
	}
	seen := map[uint32]bool{}
	if !s.readOnly && setsSeen(options) {
		var uids []uint32
		for _, t := range ts {
			if !store.HasFlag(t.msg.Flags, store.LetterSeen) {
				uids = append(uids, t.msg.UID)
				seen[t.msg.UID] = true
			}
		}
		if len(uids) > 0 {
			if err := s.mbox.SetFlags(uids, '+', []string{string(imap.FlagSeen)}, s.tracker); err != nil {
				return imapError(err)
			}
			s.refresh(ts)
		}
	}
	if options.Flags || len(seen) > 0 {
		if err := s.announceFor(w, ts); err != nil {
			return err
		}
	}
	var ahead *readAhead
	if needsBody(options) && len(ts) > 1 {
		ahead = s.readAhead(ts)
		defer ahead.close()
	}
	for i, t := range ts {
		read := func() ([]byte, error) {
			if ahead != nil {
				if raw, ok, err := ahead.take(i); ok {
					return raw, err
				}
			}
			return s.mbox.ReadMessage(t.msg.UID)
		}
		if err := s.fetchOne(w, t, options, seen[t.msg.UID], read); err != nil {
			return err
		}
	}
	if options.Flags || options.ModSeq || len(seen) > 0 {
		s.tracker.DropStale(shownIn(ts))
	}
	return nil
}

func setsSeen(o *imap.FetchOptions) bool {
	for _, bs := range o.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range o.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

func needsBody(o *imap.FetchOptions) bool {
	return o.BodyStructure != nil || len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
}

// fetchOne answers for one message; read gives its file.
func (s *session) fetchOne(w *imapserver.FetchWriter, t target, o *imap.FetchOptions, flagsChanged bool, read func() ([]byte, error)) error {
	var file, raw, binRaw []byte
	if needsBody(o) {
		var err error
		file, err = read()
		if errors.Is(err, store.ErrNoMessage) {
			return nil // expunged by another session meanwhile
		}
		if err != nil {
			return err
		}
	}
	// crlf gives the message with CRLF line ends, built only for a part,
	// a header, BODYSTRUCTURE or BINARY: the whole message and ranges of
	// it are written from the file as they convert (writeWhole).
	crlf := func() []byte {
		if raw == nil {
			raw = store.CRLF(file)
		}
		return raw
	}
	// binary gives the bytes BINARY answers from; only they need the scan
	// of the whole message for a binary part.
	binary := func() []byte {
		if binRaw == nil {
			binRaw = crlf()
			if hasBinaryPart(file) {
				binRaw = file
			}
		}
		return binRaw
	}
	rw := w.CreateMessage(t.seq)
	// The UID only when asked for (UID FETCH, FETCH (UID ...), UID STORE)
	// or when QRESYNC needs it in every FETCH (RFC 7162 section 3.2.4),
	// as Dovecot does: STORE 1:* answered 10,000 times "UID n" more than
	// the client needed, a quarter of its bytes.
	if o.UID || s.conn.QResyncEnabled() {
		rw.WriteUID(imap.UID(t.msg.UID))
	}
	if o.Flags || flagsChanged {
		rw.WriteFlags(s.withRecent(&t.msg))
	}
	if o.ModSeq || flagsChanged && s.conn.CondStoreEnabled() {
		rw.WriteModSeq(modSeqOf(&t.msg))
	}
	if o.InternalDate {
		rw.WriteInternalDate(t.msg.Date())
	}
	if o.RFC822Size {
		rw.WriteRFC822Size(t.msg.Size())
	}
	if o.Envelope {
		utf8 := rw.QuotedUTF8()
		rw.WriteEncodedEnvelope(t.msg.EncodedEnvelope(utf8, func(env *imap.Envelope) []byte {
			return imapserver.EncodeEnvelope(env, utf8)
		}))
	}
	if o.BodyStructure != nil {
		rw.WriteBodyStructure(safeBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(crlf()))))
	}
	for _, bs := range o.BodySection {
		if wholeMessage(bs) {
			if err := writeWhole(rw, bs, file); err != nil {
				rw.Close() // frees the connection's encoder, or the command's end waits for it forever
				return err
			}
			continue
		}
		b := imapserver.ExtractBodySection(bytes.NewReader(crlf()), bs)
		if len(bs.Part) > 0 && bs.Specifier == imap.PartSpecifierNone && bytes.IndexByte(b, 0) >= 0 {
			b = base64Lines(imapserver.ExtractBodySection(bytes.NewReader(binary()), bs))
		}
		if err := writeAll(rw.WriteBodySection(bs, int64(len(b))), b); err != nil {
			rw.Close() // frees the connection's encoder, or the command's end waits for it forever
			return err
		}
	}
	for _, bs := range o.BinarySection {
		b := imapserver.ExtractBinarySection(bytes.NewReader(binary()), bs)
		if err := writeAll(rw.WriteBinarySection(bs, int64(len(b))), b); err != nil {
			rw.Close()
			return err
		}
	}
	for _, bss := range o.BinarySectionSize {
		rw.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(bytes.NewReader(binary()), bss))
	}
	return rw.Close()
}

// wholeMessage says whether bs asks for the whole message, BODY[] or a
// range of it, BODY[]<offset.size> (a client downloading mail, or
// previewing it): the file itself, written with its line ends turned into
// CRLF as it goes (writeWhole). Parsing its header and writing it back,
// as the extraction of a section does, cost 48 µs a message of the corpus
// and gave the same bytes.
func wholeMessage(bs *imap.FetchItemBodySection) bool {
	return len(bs.Part) == 0 && bs.Specifier == imap.PartSpecifierNone &&
		len(bs.HeaderFields) == 0 && len(bs.HeaderFieldsNot) == 0
}

// hasBinaryPart says whether a message has a part with
// Content-Transfer-Encoding: binary (RFC 3516), whose bytes BINARY must
// give back as they were appended, bare line feeds included, rather than
// with the CRLF line ends every other answer gets.
func hasBinaryPart(raw []byte) bool {
	const cte = "content-transfer-encoding:"
	lower := bytes.ToLower(raw)
	for i := bytes.Index(lower, []byte(cte)); i >= 0; {
		rest := bytes.TrimLeft(lower[i+len(cte):], " \t")
		if bytes.HasPrefix(rest, []byte("binary")) {
			return true
		}
		next := bytes.Index(lower[i+1:], []byte(cte))
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// base64Lines encodes the content of a BODY[part] answer that holds a
// NUL, which a literal may not carry (RFC 3501 section 4.3): such a
// binary part is sent base64-encoded, as Dovecot does, and the client
// gets the bytes themselves with BINARY[part].
func base64Lines(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(enc) > 76 {
		out.WriteString(enc[:76])
		out.WriteString("\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc)
	out.WriteString("\r\n")
	return out.Bytes()
}

func writeAll(wc io.WriteCloser, b []byte) error {
	_, err := wc.Write(b)
	return closeAfter(wc, err)
}

// closeAfter closes wc, which a FETCH item is written through, and
// returns the writing's error err, or else the closing's.
func closeAfter(wc io.Closer, err error) error {
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeWhole answers BODY[] or BODY[]<offset.size> from the message file,
// with CRLF line ends, the range cut to the bytes there are (empty past
// the end).
func writeWhole(rw *imapserver.FetchResponseWriter, bs *imap.FetchItemBodySection, file []byte) error {
	var err error
	var wc io.WriteCloser
	if p := bs.Partial; p != nil {
		wc = rw.WriteBodySection(bs, store.CRLFRangeSize(file, p.Offset, p.Size))
		_, err = store.WriteCRLFRange(wc, file, p.Offset, p.Size)
	} else {
		wc = rw.WriteBodySection(bs, store.CRLFSize(file))
		err = store.WriteCRLF(wc, file)
	}
	return closeAfter(wc, err)
}

// Store answers STORE and UID STORE (+FLAGS, -FLAGS, FLAGS, .SILENT).
// Other sessions get the new flags as unsolicited FETCH responses.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	defer s.mbox.Busy()() // the store's background fill waits (store/lazy.go)
	if s.readOnly {
		return errReadOnly
	}
	ts, err := s.targets(numSet)
	if err != nil {
		return err
	}
	op := map[imap.StoreFlagsOp]store.FlagOp{imap.StoreFlagsAdd: '+', imap.StoreFlagsDel: '-', imap.StoreFlagsSet: '='}[flags.Op]
	list := make([]string, len(flags.Flags))
	for i, f := range flags.Flags {
		list[i] = string(f)
	}
	modified, err := s.mbox.SetFlagsUnchangedSince(uidsOf(ts), op, list, s.tracker, options.UnchangedSince)
	if err != nil {
		return imapError(err)
	}
	// RFC 7162 section 3.1.3: a conditional STORE tells the new MODSEQs
	// even when .SILENT, or the client's cache would be stale.
	if conditional := options.UnchangedSince != 0; !flags.Silent || conditional {
		var set imap.UIDSet
		for _, t := range ts {
			if !slices.Contains(modified, t.msg.UID) {
				set.AddNum(imap.UID(t.msg.UID))
			}
		}
		if len(set) > 0 {
			_, byUID := numSet.(imap.UIDSet)
			o := &imap.FetchOptions{UID: byUID, Flags: !flags.Silent, ModSeq: s.conn.CondStoreEnabled()}
			if err := s.Fetch(w, set, o); err != nil {
				return err
			}
		}
	} else if err := s.overtakeSilent(w, ts); err != nil {
		return err
	}
	if len(modified) > 0 {
		return imapserver.ModifiedError(modifiedSet(numSet, ts, modified))
	}
	return nil
}

// overtakeSilent follows a STORE .SILENT, which writes no FETCH for the
// session's own change. The changes other sessions made to those messages
// before it wait in the queue with the flags the messages had then,
// without this change: sent as they are, they would take the client's
// flags back. They are dropped, and the messages' flags as they are now
// sent instead (RFC 3501 section 6.4.6: a change from elsewhere is
// reported even with .SILENT).
func (s *session) overtakeSilent(w *imapserver.FetchWriter, ts []target) error {
	s.refresh(ts)
	dropped := s.tracker.DropStale(shownIn(ts))
	if len(dropped) == 0 {
		return nil
	}
	var set imap.UIDSet
	for _, uid := range dropped {
		set.AddNum(uid)
	}
	return s.Fetch(w, set, &imap.FetchOptions{Flags: true, ModSeq: s.conn.CondStoreEnabled()})
}
