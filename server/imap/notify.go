package imap

import (
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/sluicemail/sluice/server/store"
)

// maxWatched bounds the mailboxes one NOTIFY SET watches for message
// events: each is kept open (its index in memory) while watched. A
// larger set is refused with NOTIFICATIONOVERFLOW.
const maxWatched = 500

// notifyState is what NOTIFY SET asked of a session (RFC 5465).
type notifyState struct {
	opts    *imapserver.NotifyOptions
	wake    chan struct{}          // a watched mailbox or the mailbox list changed
	watched map[string]*watchedBox // by clean name: mailboxes with message events
	queue   *eventQueue            // mailbox events, when a group asks for them
	subs    map[string]bool        // subscriptions, for the SUBSCRIBED filter
}

// watchedBox is a mailbox, not necessarily selected, whose message events
// the client wants as STATUS responses.
type watchedBox struct {
	m     *store.Mailbox
	tr    *imapserver.SessionTracker // signals wake at each change
	group *imapserver.NotifyGroup
	last  boxState // as the client was last told
}

// boxState is what STATUS notifications compare.
type boxState struct {
	messages, uidNext, uidValidity uint32
	modSeq                         uint64
}

func stateOf(m *store.Mailbox) (boxState, error) {
	var st boxState
	err := m.View(func(msgs []*store.Message) error {
		st.messages = uint32(len(msgs))
		return nil
	})
	if err != nil {
		return st, err
	}
	st.uidNext, st.uidValidity, st.modSeq = m.UIDNext(), m.Validity(), max(m.HighestModSeq(), 1)
	return st, nil
}

var _ imapserver.SessionNotify = (*session)(nil)

// Notify answers NOTIFY SET and NOTIFY NONE.
func (s *session) Notify(w *imapserver.UpdateWriter, options *imapserver.NotifyOptions) error {
	if options == nil {
		s.stopNotify()
		return nil
	}
	for i := range options.Groups {
		g := &options.Groups[i]
		for j, name := range g.Mailboxes {
			if clean, err := store.CleanName(name); err == nil {
				g.Mailboxes[j] = clean
			}
		}
	}
	n := &notifyState{opts: options, wake: make(chan struct{}, 1), watched: map[string]*watchedBox{}}
	if n.wants(imapserver.NotifyMailboxName, imapserver.NotifySubscriptionChange) {
		n.queue = s.srv.events.subscribe(s.acct.User(), n.wake)
	}
	if err := s.watch(n); err != nil {
		n.stop(s)
		return err
	}
	s.stopNotify()
	s.ntf = n
	if s.mbox != nil {
		s.newFrom = s.mbox.UIDNext()
	}
	if !options.Status {
		return nil
	}
	for _, name := range n.names() {
		b := n.watched[name]
		if s.isSelected(b.m) {
			continue
		}
		if err := writeBoxStatus(w, b, statusAll(b.group)); err != nil {
			return err
		}
	}
	return nil
}

// stopNotify ends the session's notifications (NOTIFY NONE, a new NOTIFY
// SET, the end of the connection).
func (s *session) stopNotify() {
	if s.ntf != nil {
		s.ntf.stop(s)
		s.ntf = nil
	}
}

func (n *notifyState) stop(s *session) {
	for name, b := range n.watched {
		b.tr.Close()
		delete(n.watched, name)
	}
	if n.queue != nil {
		s.srv.events.unsubscribe(s.acct.User(), n.queue)
		n.queue = nil
	}
}

// wants reports whether a group that is not about the selected mailbox
// asks for one of evs.
func (n *notifyState) wants(evs ...imapserver.NotifyEvent) bool {
	for i := range n.opts.Groups {
		g := &n.opts.Groups[i]
		if g.IsSelected() {
			continue
		}
		for _, ev := range evs {
			if g.Has(ev) {
				return true
			}
		}
	}
	return false
}

// groupFor returns the first group (in the client's order) whose filter
// covers the mailbox name, or nil. The selected mailbox's own group is
// not among them: it is answered the way SELECT's updates are.
func (n *notifyState) groupFor(name string) *imapserver.NotifyGroup {
	for i := range n.opts.Groups {
		g := &n.opts.Groups[i]
		switch g.Filter {
		case imapserver.NotifyInboxes, imapserver.NotifyPersonal:
			// Every mailbox is personal, and sluice's rules can file
			// mail into any of them, so each may be an inbox.
			return g
		case imapserver.NotifySubscribed:
			if n.subs[name] {
				return g
			}
		case imapserver.NotifySubtree:
			for _, root := range g.Mailboxes {
				if name == root || strings.HasPrefix(name, root+string(store.Delim)) {
					return g
				}
			}
		case imapserver.NotifyMailboxes:
			for _, m := range g.Mailboxes {
				if name == m {
					return g
				}
			}
		}
	}
	return nil
}

// hasMessageEvents reports whether a group asks for message events.
func hasMessageEvents(g *imapserver.NotifyGroup) bool {
	return g.Has(imapserver.NotifyMessageNew) || g.Has(imapserver.NotifyMessageExpunge) ||
		g.Has(imapserver.NotifyFlagChange)
}

// names returns the watched mailboxes in the account's order.
func (n *notifyState) names() []string {
	out := make([]string, 0, len(n.watched))
	for name := range n.watched {
		out = append(out, name)
	}
	sortNames(out)
	return out
}

// watch brings the watched mailboxes in step with the account's list and
// the groups: it opens the ones now covered and closes the others. A
// mailbox already watched keeps what its client was last told.
func (s *session) watch(n *notifyState) error {
	if n.needsSubs() {
		subs, err := s.acct.Subscriptions()
		if err != nil {
			return imapError(err)
		}
		n.subs = subs
	}
	names, err := s.acct.List()
	if err != nil {
		return imapError(err)
	}
	want := map[string]*imapserver.NotifyGroup{}
	for _, name := range names {
		if g := n.groupFor(name); g != nil && hasMessageEvents(g) {
			want[name] = g
		}
	}
	if len(want) > maxWatched {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: "NOTIFICATIONOVERFLOW",
			Text: "Too many mailboxes to watch; name fewer"}
	}
	for name, b := range n.watched {
		if want[name] == nil || isGone(b.m) {
			b.tr.Close()
			delete(n.watched, name)
		}
	}
	for name, g := range want {
		if b := n.watched[name]; b != nil {
			b.group = g
			continue
		}
		m, err := s.acct.Mailbox(name)
		if errors.Is(err, store.ErrNoMailbox) {
			continue // deleted since the listing
		} else if err != nil {
			return imapError(err)
		}
		_, tr, err := m.Watch()
		if err != nil {
			return imapError(err)
		}
		tr.WakeOn(n.wake)
		last, err := stateOf(m)
		if err != nil {
			tr.Close()
			return imapError(err)
		}
		n.watched[name] = &watchedBox{m: m, tr: tr, group: g, last: last}
	}
	return nil
}

func (n *notifyState) needsSubs() bool {
	for _, g := range n.opts.Groups {
		if g.Filter == imapserver.NotifySubscribed {
			return true
		}
	}
	return false
}

func isGone(m *store.Mailbox) bool {
	return errors.Is(m.View(func([]*store.Message) error { return nil }), store.ErrGone)
}

func (s *session) isSelected(m *store.Mailbox) bool {
	return s.mbox != nil && s.mbox.Name() == m.Name()
}

// pollNotify sends what NOTIFY asked for since the last poll: LIST for
// mailbox events, STATUS for changed mailboxes that are not selected,
// and FETCH for messages new in the selected mailbox when MessageNew
// named fetch attributes.
func (s *session) pollNotify(w *imapserver.UpdateWriter, allowExpunge bool) error {
	n := s.ntf
	if n == nil {
		return nil
	}
	if err := s.pollMailboxEvents(w, n); err != nil || s.ntf == nil {
		return err
	}
	for _, name := range n.names() {
		b := n.watched[name]
		if !b.tr.Discard() {
			continue
		}
		now, err := stateOf(b.m)
		if errors.Is(err, store.ErrGone) {
			continue // renamed or deleted: the mailbox events re-watch
		} else if err != nil {
			return imapError(err)
		}
		items := changedItems(b.group, b.last, now)
		b.last = now
		if items == (imap.StatusOptions{}) || s.isSelected(b.m) {
			continue
		}
		if err := writeBoxStatus(w, b, items); err != nil {
			return err
		}
	}
	if allowExpunge {
		return s.fetchNew(w, n)
	}
	return nil
}

// pollMailboxEvents writes the LIST responses for mailbox events and
// re-watches the mailboxes when the list or the subscriptions changed.
func (s *session) pollMailboxEvents(w *imapserver.UpdateWriter, n *notifyState) error {
	if n.queue == nil {
		return nil
	}
	evs, overflow := n.queue.take()
	if overflow {
		// RFC 5465 section 5.8: after NOTIFICATIONOVERFLOW the server
		// sends nothing more until the client's next NOTIFY.
		s.stopNotify()
		return w.WriteNotificationOverflow("Too many mailbox events, notifications are off")
	}
	if len(evs) == 0 {
		return nil
	}
	// SUBSCRIBED is judged on the subscriptions after the change, except
	// for an unsubscribe, which the client of a SUBSCRIBED filter must
	// still hear of.
	before := n.subs
	if err := s.watch(n); err != nil {
		s.stopNotify()
		return w.WriteNotificationOverflow("Cannot watch the mailboxes any more, notifications are off")
	}
	for _, ev := range evs {
		if err := s.writeMailboxEvent(w, n, ev, before); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) writeMailboxEvent(w *imapserver.UpdateWriter, n *notifyState, ev mailboxEvent, before map[string]bool) error {
	covers := func(name string, want imapserver.NotifyEvent) bool {
		g := n.groupFor(name)
		if g == nil && before != nil && before[name] {
			saved := n.subs
			n.subs = before
			g = n.groupFor(name)
			n.subs = saved
		}
		return g != nil && g.Has(want)
	}
	if ev.own {
		return nil
	}
	data := &imap.ListData{Delim: store.Delim, Mailbox: ev.name}
	switch ev.kind {
	case mailboxCreated:
		if !covers(ev.name, imapserver.NotifyMailboxName) {
			return nil
		}
	case mailboxDeleted:
		if !covers(ev.name, imapserver.NotifyMailboxName) {
			return nil
		}
		data.Attrs = []imap.MailboxAttr{imap.MailboxAttrNonExistent}
	case mailboxRenamed:
		if !covers(ev.name, imapserver.NotifyMailboxName) && !covers(ev.oldName, imapserver.NotifyMailboxName) {
			return nil
		}
		data.OldName = ev.oldName
	case mailboxSubscribed, mailboxUnsubscribed:
		if !covers(ev.name, imapserver.NotifySubscriptionChange) {
			return nil
		}
		if ev.kind == mailboxSubscribed {
			data.Attrs = []imap.MailboxAttr{imap.MailboxAttrSubscribed}
		}
	}
	return w.WriteList(data)
}

// statusAll is the STATUS a group's events call for (RFC 5465 sections
// 5.1 to 5.3): MESSAGES for new and expunged messages, UIDNEXT and
// UIDVALIDITY for new ones, UIDVALIDITY and HIGHESTMODSEQ for flag
// changes.
func statusAll(g *imapserver.NotifyGroup) imap.StatusOptions {
	var o imap.StatusOptions
	if g.Has(imapserver.NotifyMessageNew) {
		o.NumMessages, o.UIDNext, o.UIDValidity = true, true, true
	}
	if g.Has(imapserver.NotifyMessageExpunge) {
		o.NumMessages = true
	}
	if g.Has(imapserver.NotifyFlagChange) {
		o.UIDValidity, o.HighestModSeq = true, true
	}
	return o
}

// changedItems is the part of statusAll that a change from last to now
// calls for: nothing when the events the group asked for did not happen.
func changedItems(g *imapserver.NotifyGroup, last, now boxState) imap.StatusOptions {
	if now == last {
		return imap.StatusOptions{}
	}
	if now.uidValidity != last.uidValidity {
		return statusAll(g)
	}
	added := now.uidNext != last.uidNext
	// Fewer messages than the new UIDs account for: some went.
	expunged := now.messages < last.messages+(now.uidNext-last.uidNext)
	flags := now.modSeq != last.modSeq
	var o imap.StatusOptions
	if added && g.Has(imapserver.NotifyMessageNew) {
		o.NumMessages, o.UIDNext, o.UIDValidity = true, true, true
	}
	if expunged && g.Has(imapserver.NotifyMessageExpunge) {
		o.NumMessages = true
	}
	if flags && g.Has(imapserver.NotifyFlagChange) {
		o.UIDValidity, o.HighestModSeq = true, true
	}
	return o
}

func writeBoxStatus(w *imapserver.UpdateWriter, b *watchedBox, items imap.StatusOptions) error {
	data := &imap.StatusData{Mailbox: b.m.Name(), NumMessages: &b.last.messages,
		UIDNext: imap.UID(b.last.uidNext), UIDValidity: b.last.uidValidity, HighestModSeq: b.last.modSeq}
	return w.WriteStatus(data, &items)
}

// fetchNew sends the FETCH responses MessageNew asked for, for the
// messages of the selected mailbox the client was just told of.
func (s *session) fetchNew(w *imapserver.UpdateWriter, n *notifyState) error {
	g := n.opts.Selected()
	if s.mbox == nil || g == nil || g.Fetch == nil {
		return nil
	}
	next := s.mbox.UIDNext()
	if next <= s.newFrom {
		return nil
	}
	from := s.newFrom
	s.newFrom = next
	var set imap.UIDSet
	set.AddRange(imap.UID(from), imap.UID(next-1))
	opts := *g.Fetch
	opts.UID = true
	return s.Fetch(w.FetchWriter(g), set, &opts)
}

// idleNotify is IDLE under NOTIFY: it waits for a change in the selected
// mailbox, a watched one or the mailbox list, and polls at each.
func (s *session) idleNotify(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	n := s.ntf
	if s.tracker != nil {
		s.tracker.WakeOn(n.wake)
		defer s.tracker.WakeOn(nil)
	}
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		if s.ntf != n { // overflow turned notifications off
			if s.tracker != nil {
				s.tracker.WakeOn(nil)
			}
			return s.idlePlain(w, stop)
		}
		select {
		case <-n.wake:
		case <-stop:
			return nil
		}
	}
}
