package imap

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/sluicemail/sluice/server/store"
)

// Search answers SEARCH and UID SEARCH (with ESEARCH's MIN, MAX, COUNT
// and ALL) over the full RFC 3501 criteria. Flags, dates, sizes and
// UIDs are matched from the index; a message file is read only when a
// header, body or text criterion needs it.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	defer s.mbox.Busy()() // the store's background fill waits (store/lazy.go)
	found, err := s.matching(criteria)
	if err != nil {
		return nil, err
	}
	var data imap.SearchData
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for _, t := range found {
		num := t.seq
		if kind == imapserver.NumKindUID {
			num = t.msg.UID
			uids.AddNum(imap.UID(num))
		} else {
			seqs.AddNum(num)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if hasModSeqKey(criteria) {
		data.ModSeq = searchModSeq(found, kind, options, data.Min, data.Max)
	}
	return &data, nil
}

// matching returns the messages, in mailbox order, that match criteria
// (SEARCH, SORT and THREAD).
func (s *session) matching(criteria *imap.SearchCriteria) ([]target, error) {
	all, err := s.targets(imap.SeqSet{{Start: 1, Stop: 0}})
	if err != nil {
		return nil, err
	}
	s.staticCriteria(criteria)
	if needsContent(criteria) {
		loadContent(all)
	}
	found := all[:0]
	for _, t := range all {
		m := &matcher{s: s, t: t}
		if m.match(criteria) {
			found = append(found, t)
		}
	}
	return found, nil
}

// needsContent reports whether criteria compare what the store reads from
// a message's file (header keys, size, internal date, body) rather than
// its flags or UID.
func needsContent(c *imap.SearchCriteria) bool {
	if len(c.Header)+len(c.Body)+len(c.Text) > 0 || c.Larger != 0 || c.Smaller != 0 ||
		!c.SentSince.IsZero() || !c.SentBefore.IsZero() || !c.Since.IsZero() || !c.Before.IsZero() {
		return true
	}
	for i := range c.Not {
		if needsContent(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if needsContent(&c.Or[i][0]) || needsContent(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

// loadContent has the store read, in parallel, the content of those
// messages it indexed lazily and has not read yet (store.Load): SEARCH
// and SORT on a mailbox still being indexed would otherwise read the
// files one by one as they compare them.
func loadContent(ts []target) {
	msgs := make([]*store.Message, len(ts))
	for i := range ts {
		msgs[i] = &ts[i].msg // the copies share the content with the mailbox's messages
	}
	store.Load(msgs)
}

// staticCriteria resolves "*" in the sequence and UID sets of criteria.
func (s *session) staticCriteria(c *imap.SearchCriteria) {
	s.mbox.View(func(msgs []*store.Message) error {
		var walk func(c *imap.SearchCriteria)
		walk = func(c *imap.SearchCriteria) {
			for i := range c.SeqNum {
				c.SeqNum[i] = s.static(c.SeqNum[i], msgs).(imap.SeqSet)
			}
			for i := range c.UID {
				c.UID[i] = s.static(c.UID[i], msgs).(imap.UIDSet)
			}
			for i := range c.Not {
				walk(&c.Not[i])
			}
			for i := range c.Or {
				walk(&c.Or[i][0])
				walk(&c.Or[i][1])
			}
		}
		walk(c)
		return nil
	})
}

// matcher evaluates criteria against one message, reading its file at
// most once.
type matcher struct {
	s    *session
	t    target
	raw  []byte
	read bool
}

// matchIndexed answers FROM, TO, CC, BCC and SUBJECT (and HEADER on those
// fields) from the keys in the index, without reading the file or
// decoding the envelope; ok is false for any other header, and for the
// empty value, which asks whether the field exists at all. An address
// matches on its parsed form, "Name <mailbox@host>" (so a comment or a
// group does not hide it), and a group on its name, as Dovecot matches
// them; the keys hold those forms lower-cased.
func (m *matcher) matchIndexed(hc imap.SearchCriteriaHeaderField) (matched, ok bool) {
	if hc.Value == "" {
		return false, false
	}
	k := m.t.msg.Keys()
	value := strings.ToLower(hc.Value)
	var list []string
	switch strings.ToLower(hc.Key) {
	case "subject":
		return strings.Contains(k.Subject, value), true
	case "from":
		list = k.From
	case "to":
		list = k.To
	case "cc":
		list = k.Cc
	case "bcc":
		list = k.Bcc
	default:
		return false, false
	}
	for _, s := range list {
		if strings.Contains(s, value) {
			return true, true
		}
	}
	return false, true
}

func (m *matcher) body() []byte {
	if !m.read {
		m.read = true
		raw, err := m.s.mbox.ReadMessage(m.t.msg.UID)
		if err == nil {
			m.raw = store.CRLF(raw)
		}
	}
	return m.raw
}

func (m *matcher) header() mail.Header {
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(m.body())))
	return mail.Header{Header: gomessage.Header{Header: h}}
}

func (m *matcher) match(c *imap.SearchCriteria) bool {
	msg := &m.t.msg
	for _, set := range c.SeqNum {
		if m.t.seq == 0 || !set.Contains(m.t.seq) {
			return false
		}
	}
	for _, set := range c.UID {
		if !set.Contains(imap.UID(msg.UID)) {
			return false
		}
	}
	if !matchDate(msg.Date(), c.Since, c.Before) {
		return false
	}
	for _, f := range c.Flag {
		if !m.hasFlag(f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if m.hasFlag(f) {
			return false
		}
	}
	if c.ModSeq != nil && modSeqOf(msg) < c.ModSeq.ModSeq {
		return false
	}
	if c.Larger != 0 && msg.Size() <= c.Larger || c.Smaller != 0 && msg.Size() >= c.Smaller {
		return false
	}
	var fromFile []imap.SearchCriteriaHeaderField
	for _, hc := range c.Header {
		if matched, ok := m.matchIndexed(hc); !ok {
			fromFile = append(fromFile, hc)
		} else if !matched {
			return false
		}
	}
	if len(fromFile) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		h := m.header()
		for _, hc := range fromFile {
			if !matchFields(h.FieldsByKey(hc.Key), hc.Value) {
				return false
			}
		}
		if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
			t, err := h.Date()
			if err != nil || !matchDate(t, c.SentSince, c.SentBefore) {
				return false
			}
		}
	}
	for _, text := range c.Text {
		if !m.matchEntity(text, true) {
			return false
		}
	}
	for _, text := range c.Body {
		if !m.matchEntity(text, false) {
			return false
		}
	}
	for i := range c.Not {
		if m.match(&c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !m.match(&c.Or[i][0]) && !m.match(&c.Or[i][1]) {
			return false
		}
	}
	return true
}

func (m *matcher) hasFlag(f imap.Flag) bool {
	if strings.EqualFold(string(f), string(flagRecent)) {
		return m.s.isRecent(m.t.msg.UID)
	}
	for _, have := range m.t.msg.IMAPFlags() {
		if strings.EqualFold(string(have), string(f)) {
			return true
		}
	}
	return false
}

// matchDate compares dates without time of day or zone (RFC 3501 6.4.4).
func matchDate(t, since, before time.Time) bool {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && t.Before(since) {
		return false
	}
	return before.IsZero() || t.Before(before)
}

func matchFields(fields gomessage.HeaderFields, pattern string) bool {
	if pattern == "" {
		return fields.Len() > 0
	}
	pattern = strings.ToLower(pattern)
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if strings.Contains(strings.ToLower(v), pattern) {
			return true
		}
	}
	return false
}

// matchEntity looks for text in the decoded text parts of the message
// (and in its headers for TEXT).
func (m *matcher) matchEntity(pattern string, withHeader bool) bool {
	e, err := gomessage.Read(bytes.NewReader(m.body()))
	if e == nil {
		return bytes.Contains(bytes.ToLower(m.body()), bytes.ToLower([]byte(pattern)))
	}
	_ = err // an unknown charset still gives a readable entity
	return matchPart(e, strings.ToLower(pattern), withHeader)
}

func matchPart(e *gomessage.Entity, pattern string, withHeader bool) bool {
	if withHeader && matchFields(e.Header.Fields(), pattern) {
		return true
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			part, err := mr.NextPart()
			if err != nil {
				return false
			}
			if matchPart(part, pattern, withHeader) {
				return true
			}
		}
	}
	t, _, _ := e.Header.ContentType()
	if t != "" && !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(e.Body, 16<<20))
	return bytes.Contains(bytes.ToLower(b), []byte(pattern))
}
