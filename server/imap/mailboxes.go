package imap

import (
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// specialUse gives the standard mailboxes their RFC 6154 attributes.
var specialUse = map[string]imap.MailboxAttr{
	store.Sent:    imap.MailboxAttrSent,
	store.Drafts:  imap.MailboxAttrDrafts,
	store.Junk:    imap.MailboxAttrJunk,
	store.Trash:   imap.MailboxAttrTrash,
	store.Archive: imap.MailboxAttrArchive,
}

// Create, Delete, Rename, Subscribe and Unsubscribe act on the user's own
// mailboxes only: every name goes through store.CleanName and is resolved
// inside the account's Maildir.
//
// Each change is published to the user's other sessions under NOTIFY
// (mailboxevents.go).
func (s *session) Create(name string, _ *imap.CreateOptions) error {
	before, _ := s.acct.List()
	if err := s.acct.Create(strings.TrimSuffix(name, string(store.Delim))); err != nil {
		return imapError(err)
	}
	after, _ := s.acct.List()
	had := map[string]bool{}
	for _, n := range before {
		had[n] = true
	}
	var evs []mailboxEvent
	for _, n := range after { // the mailbox and any parents it needed
		if !had[n] {
			evs = append(evs, mailboxEvent{kind: mailboxCreated, name: n})
		}
	}
	s.publish(evs...)
	return nil
}

func (s *session) Delete(name string) error {
	if err := s.acct.Delete(name); err != nil {
		return imapError(err)
	}
	if clean, err := store.CleanName(name); err == nil {
		s.publish(mailboxEvent{kind: mailboxDeleted, name: clean})
	}
	return nil
}

func (s *session) Rename(from, to string, _ *imap.RenameOptions) error {
	src, err := store.CleanName(from)
	if err == nil && src == store.Inbox {
		if err := s.acct.RenameInbox(to); err != nil {
			return imapError(err)
		}
		dst, _ := store.CleanName(to)
		s.publish(mailboxEvent{kind: mailboxCreated, name: dst}) // INBOX stays
		return nil
	}
	before, _ := s.acct.List()
	if err := s.acct.Rename(from, to); err != nil {
		return imapError(err)
	}
	dst, _ := store.CleanName(to)
	var evs []mailboxEvent
	for _, n := range before { // the mailbox and its children move
		if n == src || strings.HasPrefix(n, src+string(store.Delim)) {
			evs = append(evs, mailboxEvent{kind: mailboxRenamed, name: dst + n[len(src):], oldName: n})
		}
	}
	s.publish(evs...)
	return nil
}

func (s *session) Subscribe(name string) error {
	return s.setSubscribed(name, true)
}

func (s *session) Unsubscribe(name string) error {
	return s.setSubscribed(name, false)
}

func (s *session) setSubscribed(name string, on bool) error {
	if err := s.acct.SetSubscribed(name, on); err != nil {
		return imapError(err)
	}
	kind := mailboxSubscribed
	if !on {
		kind = mailboxUnsubscribed
	}
	if clean, err := store.CleanName(name); err == nil {
		s.publish(mailboxEvent{kind: kind, name: clean})
	}
	return nil
}

// publish tells the user's other sessions under NOTIFY of a change.
func (s *session) publish(evs ...mailboxEvent) {
	var self *eventQueue
	if s.ntf != nil {
		self = s.ntf.queue
	}
	s.srv.events.publish(s.acct.User(), self, evs...)
}

// List answers LIST and LSUB, with the LIST-EXTENDED selection and return
// options, SPECIAL-USE attributes and LIST-STATUS.
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 || len(patterns) == 1 && patterns[0] == "" {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: store.Delim})
	}
	names, err := s.acct.List()
	if err != nil {
		return err
	}
	subs, err := s.acct.Subscriptions()
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
	}
	candidates := names
	// parents are the unsubscribed parents of subscribed mailboxes that
	// LSUB lists as \Noselect (RFC 3501 6.3.9) and LIST (SUBSCRIBED
	// RECURSIVEMATCH) with CHILDINFO (RFC 5258 3.5), when a subscribed
	// mailbox below them does not match the pattern itself.
	var parents map[string]bool
	lsub := w.IsLSub()
	if options.SelectSubscribed {
		candidates = nil
		for n := range subs {
			candidates = append(candidates, n)
		}
		if lsub || options.SelectRecursiveMatch {
			parents = hiddenParents(subs, ref, patterns)
			for p := range parents {
				if !subs[p] {
					candidates = append(candidates, p)
				}
			}
		}
		sortNames(candidates)
	}
	for _, name := range candidates {
		if !matchAny(name, ref, patterns) {
			continue
		}
		data := imap.ListData{Mailbox: name, Delim: store.Delim}
		parentOnly := options.SelectSubscribed && !subs[name]
		switch {
		case lsub && parentOnly:
			data.Attrs = append(data.Attrs, imap.MailboxAttrNoSelect)
		case !exists[name]:
			data.Attrs = append(data.Attrs, imap.MailboxAttrNonExistent)
		case hasChildren(name, names):
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		default:
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if subs[name] && (options.SelectSubscribed || options.ReturnSubscribed) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if options.SelectRecursiveMatch && parents[name] {
			data.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
		}
		if attr, ok := specialUse[name]; ok {
			data.Attrs = append(data.Attrs, attr)
		} else if options.SelectSpecialUse {
			continue
		}
		if options.ReturnStatus != nil && exists[name] {
			if data.Status, err = s.status(name, options.ReturnStatus); err != nil {
				continue
			}
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}

// hiddenParents returns the parents of subscribed mailboxes that the
// patterns match while a subscribed mailbox below them is not matched.
func hiddenParents(subs map[string]bool, ref string, patterns []string) map[string]bool {
	out := map[string]bool{}
	for sub := range subs {
		if matchAny(sub, ref, patterns) {
			continue
		}
		for i := len(sub) - 1; i > 0; i-- {
			if sub[i] == store.Delim {
				if parent := sub[:i]; matchAny(parent, ref, patterns) {
					out[parent] = true
				}
			}
		}
	}
	return out
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, store.Delim, ref, p) {
			return true
		}
		// INBOX matches case-insensitively (RFC 3501 section 5.1).
		if name == store.Inbox && imapserver.MatchList(name, store.Delim, ref, strings.ToUpper(p)) {
			return true
		}
	}
	return false
}

func hasChildren(name string, names []string) bool {
	prefix := name + string(store.Delim)
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func sortNames(names []string) {
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
}

// Status answers STATUS (including SIZE).
func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	data, err := s.status(name, options)
	return data, imapError(err)
}

func (s *session) status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	m, err := s.acct.Mailbox(name)
	if err != nil {
		return nil, err
	}
	if err := m.SyncIfStale(0); err != nil {
		return nil, err
	}
	st, err := m.Status()
	if err != nil {
		return nil, err
	}
	data := &imap.StatusData{Mailbox: m.Name()}
	if options.NumMessages {
		data.NumMessages = &st.Messages
	}
	if options.UIDNext {
		data.UIDNext = imap.UID(st.UIDNext)
	}
	if options.UIDValidity {
		data.UIDValidity = st.UIDValidity
	}
	if options.NumUnseen {
		data.NumUnseen = &st.Unseen
	}
	if options.NumDeleted {
		data.NumDeleted = &st.Deleted
	}
	if options.Size {
		size, err := m.Size()
		if err != nil {
			return nil, err
		}
		data.Size = &size
	}
	if options.HighestModSeq {
		data.HighestModSeq = max(st.HighestModSeq, 1)
	}
	if options.NumRecent {
		// The messages no session has claimed yet (recent.go).
		var n uint32
		from := m.RecentFrom()
		m.View(func(msgs []*store.Message) error {
			for i := len(msgs) - 1; i >= 0 && msgs[i].UID >= from; i-- {
				n++
			}
			return nil
		})
		data.NumRecent = &n
	}
	return data, nil
}

// Append stores a message (a client saving to Sent or Drafts), refusing it
// with OVERQUOTA when the user's storage is full.
func (s *session) Append(name string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	defer s.acct.Busy()() // the store's background fill waits (store/lazy.go)
	m, err := s.acct.Mailbox(name)
	if err != nil {
		return nil, tryCreate(err)
	}
	raw, err := io.ReadAll(io.LimitReader(r, int64(s.srv.opts.AppendLimit)+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > int(s.srv.opts.AppendLimit) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too large"}
	}
	flags := make([]string, len(options.Flags))
	for i, f := range options.Flags {
		flags[i] = string(f)
	}
	uid, validity, err := m.Append(raw, flags, options.Time)
	if err != nil {
		return nil, imapError(err)
	}
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: validity}, nil
}

// AppendMulti stores the messages of an APPEND, one or several
// (MULTIAPPEND, RFC 3502), all or none: the quota is checked for them
// together, and if one cannot be stored those already stored are
// expunged again before the NO.
func (s *session) AppendMulti(name string, msgs []imapserver.AppendMessage) (*imapserver.MultiAppendData, error) {
	defer s.acct.Busy()() // the store's background fill waits (store/lazy.go)
	m, err := s.acct.Mailbox(name)
	if err != nil {
		return nil, tryCreate(err)
	}
	var total int64
	for i, msg := range msgs {
		if msg.Parts != nil { // CATENATE (catenate.go)
			b, err := s.catenate(msg.Parts)
			if err != nil {
				return nil, err
			}
			msgs[i].Data, msg.Data = b, b
		}
		if len(msg.Data) > int(s.srv.opts.AppendLimit) {
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too large"}
		}
		total += int64(len(msg.Data))
	}
	if err := s.srv.opts.Store.CheckQuota(s.acct.User(), total); err != nil {
		return nil, imapError(err)
	}
	data := &imapserver.MultiAppendData{}
	var done []uint32
	for _, msg := range msgs {
		flags := make([]string, len(msg.Options.Flags))
		for i, f := range msg.Options.Flags {
			flags[i] = string(f)
		}
		uid, validity, err := m.Append(msg.Data, flags, msg.Options.Time)
		if err != nil {
			s.undoAppend(m, done)
			return nil, imapError(err)
		}
		done = append(done, uid)
		data.UIDValidity = validity
		data.UIDs.AddNum(imap.UID(uid))
	}
	return data, nil
}

// undoAppend expunges the messages a failed MULTIAPPEND stored.
func (s *session) undoAppend(m *store.Mailbox, uids []uint32) {
	if len(uids) == 0 {
		return
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	err := m.SetFlags(uids, '+', []string{string(imap.FlagDeleted)}, nil)
	if err == nil {
		_, err = m.Expunge(&set)
	}
	if err != nil {
		s.srv.log.Warn("imap: undoing a failed MULTIAPPEND", "user", s.acct.User(), "err", err)
	}
}
