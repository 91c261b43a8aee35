package imapserver

// sluice: this file is not in go-imap v2.0.0-beta.8; see README.md.

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// NotifyFilter names the mailboxes an event group of NOTIFY SET covers
// (RFC 5465 section 6).
type NotifyFilter string

const (
	NotifySelected        NotifyFilter = "SELECTED"
	NotifySelectedDelayed NotifyFilter = "SELECTED-DELAYED"
	NotifyInboxes         NotifyFilter = "INBOXES"
	NotifyPersonal        NotifyFilter = "PERSONAL"
	NotifySubscribed      NotifyFilter = "SUBSCRIBED"
	NotifySubtree         NotifyFilter = "SUBTREE"   // with mailboxes
	NotifyMailboxes       NotifyFilter = "MAILBOXES" // with mailboxes
)

// NotifyEvent is an event a client can ask to hear of (RFC 5465 section 5).
type NotifyEvent string

const (
	NotifyMessageNew            NotifyEvent = "MessageNew"
	NotifyMessageExpunge        NotifyEvent = "MessageExpunge"
	NotifyFlagChange            NotifyEvent = "FlagChange"
	NotifyAnnotationChange      NotifyEvent = "AnnotationChange"
	NotifyMailboxName           NotifyEvent = "MailboxName"
	NotifySubscriptionChange    NotifyEvent = "SubscriptionChange"
	NotifyMailboxMetadataChange NotifyEvent = "MailboxMetadataChange"
	NotifyServerMetadataChange  NotifyEvent = "ServerMetadataChange"
)

// notifySupported are the events a SessionNotify delivers; the others
// need ANNOTATE or METADATA, which the server does not have, and are
// refused with BADEVENT.
var notifySupported = []NotifyEvent{NotifyMessageNew, NotifyMessageExpunge, NotifyFlagChange,
	NotifyMailboxName, NotifySubscriptionChange}

var notifyKnown = append(append([]NotifyEvent(nil), notifySupported...),
	NotifyAnnotationChange, NotifyMailboxMetadataChange, NotifyServerMetadataChange)

// NotifyGroup is one event group of NOTIFY SET.
type NotifyGroup struct {
	Filter    NotifyFilter
	Mailboxes []string      // for SUBTREE and MAILBOXES, decoded like any mailbox name
	Events    []NotifyEvent // none: the client asked for NONE
	// Fetch holds the attributes MessageNew asked for in the selected
	// mailbox (nil: none, the client only gets EXISTS). Body sections
	// are always peeks: a notification never sets \Seen.
	Fetch *imap.FetchOptions

	fetchWriter fetchWriterOptions
}

// Has reports whether the group asks for ev.
func (g *NotifyGroup) Has(ev NotifyEvent) bool {
	for _, e := range g.Events {
		if e == ev {
			return true
		}
	}
	return false
}

// IsSelected reports whether the group is about the selected mailbox.
func (g *NotifyGroup) IsSelected() bool {
	return g.Filter == NotifySelected || g.Filter == NotifySelectedDelayed
}

// NotifyOptions is a parsed NOTIFY SET.
type NotifyOptions struct {
	Status bool // send the STATUS of the mailboxes before the tagged OK
	Groups []NotifyGroup
}

// Selected returns the group about the selected mailbox, or nil.
func (o *NotifyOptions) Selected() *NotifyGroup {
	for i := range o.Groups {
		if o.Groups[i].IsSelected() {
			return &o.Groups[i]
		}
	}
	return nil
}

// SessionNotify is a session that implements NOTIFY (RFC 5465). The
// server must advertise imap.CapNotify.
type SessionNotify interface {
	// Notify replaces the notifications the client wants: options is nil
	// for NOTIFY NONE. With options.Status it writes the STATUS of the
	// mailboxes the groups cover through w before returning. An
	// *imap.Error fails the command (NOTIFICATIONOVERFLOW, for one); the
	// previous notifications stay in effect then.
	Notify(w *UpdateWriter, options *NotifyOptions) error
}

// FetchWriter returns a writer for the FETCH responses of MessageNew in
// the selected mailbox, with the selected group's attributes.
func (w *UpdateWriter) FetchWriter(g *NotifyGroup) *FetchWriter {
	return &FetchWriter{conn: w.conn, options: g.fetchWriter}
}

// WriteStatus writes an untagged STATUS response with the items options
// selects (a notification about a mailbox that is not selected).
func (w *UpdateWriter) WriteStatus(data *imap.StatusData, options *imap.StatusOptions) error {
	return w.conn.writeStatus(data, options)
}

// WriteList writes an untagged LIST response (a mailbox created, deleted,
// renamed, subscribed or unsubscribed).
func (w *UpdateWriter) WriteList(data *imap.ListData) error {
	return w.conn.writeList(data)
}

// WriteNotificationOverflow writes the untagged OK [NOTIFICATIONOVERFLOW]
// that tells the client the server stopped sending notifications.
func (w *UpdateWriter) WriteNotificationOverflow(text string) error {
	enc := newResponseEncoder(w.conn)
	defer enc.end()
	return writeStatusResp(enc.Encoder, "", &imap.StatusResponse{
		Type: imap.StatusResponseTypeOK, Code: "NOTIFICATIONOVERFLOW", Text: text})
}

// WakeOn makes the tracker signal ch, without blocking, each time an
// update is queued (nil stops it). A session uses it to wait for changes
// in several mailboxes at once, instead of Idle; it must not call Idle
// while ch is set.
func (t *SessionTracker) WakeOn(ch chan<- struct{}) {
	t.mutex.Lock()
	t.updates = ch
	t.mutex.Unlock()
}

// Discard drops the queued updates and reports whether there were any:
// for a mailbox that is watched but not selected, only the fact that it
// changed matters.
func (t *SessionTracker) Discard() bool {
	t.mutex.Lock()
	defer t.mutex.Unlock()
	n := len(t.queue)
	t.queue = nil
	return n > 0
}

func (c *Conn) handleNotify(dec *imapwire.Decoder) error {
	session, ok := c.session.(SessionNotify)
	if !ok || !c.server.options.caps().Has(imap.CapNotify) {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	options, err := readNotify(dec)
	if err != nil {
		return err
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	if options != nil {
		if err := checkNotifyEvents(options); err != nil {
			return err
		}
	}
	return session.Notify(&UpdateWriter{conn: c, allowExpunge: true}, options)
}

// readNotify parses the arguments of NOTIFY, from the SP after the
// command name to the CRLF: nil for NONE.
//
//	notify       = "NOTIFY" SP (notify-set / notify-none)
//	notify-set   = "SET" [status-indicator] SP event-groups
//	event-group  = "(" filter-mailboxes SP events ")"
//	events       = ( "(" event *(SP event) ")" ) / "NONE"
//	event        = "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"] / atom
func readNotify(dec *imapwire.Decoder) (*NotifyOptions, error) {
	var verb string
	if !dec.ExpectSP() || !dec.ExpectAtom(&verb) {
		return nil, dec.Err()
	}
	switch strings.ToUpper(verb) {
	case "NONE":
		if !dec.ExpectCRLF() {
			return nil, dec.Err()
		}
		return nil, nil
	case "SET":
	default:
		return nil, newClientBugError("NOTIFY takes SET or NONE")
	}
	options := &NotifyOptions{}
	if !dec.ExpectSP() {
		return nil, dec.Err()
	}
	var status string
	if dec.Atom(&status) {
		if !strings.EqualFold(status, "STATUS") {
			return nil, newClientBugError("Expected STATUS or an event group")
		}
		options.Status = true
		if !dec.ExpectSP() {
			return nil, dec.Err()
		}
	}
	for {
		var g NotifyGroup
		if err := dec.ExpectList(func() error { return readNotifyGroup(dec, &g) }); err != nil {
			return nil, err
		}
		if g.IsSelected() && options.Selected() != nil {
			return nil, newClientBugError("SELECTED or SELECTED-DELAYED given twice")
		}
		options.Groups = append(options.Groups, g)
		if !dec.SP() {
			break
		}
	}
	if !dec.ExpectCRLF() {
		return nil, dec.Err()
	}
	return options, nil
}

// readNotifyGroup reads the inside of one event group. ExpectList calls
// it once per space-separated item, so it reads the filter and its
// events in one call and leaves the closing parenthesis.
func readNotifyGroup(dec *imapwire.Decoder, g *NotifyGroup) error {
	if g.Filter != "" {
		return newClientBugError("Too many items in an event group")
	}
	var filter string
	if !dec.ExpectAtom(&filter) {
		return dec.Err()
	}
	g.Filter = NotifyFilter(strings.ToUpper(filter))
	switch g.Filter {
	case NotifySelected, NotifySelectedDelayed, NotifyInboxes, NotifyPersonal, NotifySubscribed:
	case NotifySubtree, NotifyMailboxes:
		if !dec.ExpectSP() {
			return dec.Err()
		}
		readOne := func() error {
			var name string
			if !dec.ExpectMailbox(&name) {
				return dec.Err()
			}
			g.Mailboxes = append(g.Mailboxes, name)
			return nil
		}
		isList, err := dec.List(readOne)
		if err != nil {
			return err
		}
		if !isList {
			if err := readOne(); err != nil {
				return err
			}
		} else if len(g.Mailboxes) == 0 {
			return newClientBugError("Empty mailbox list in an event group")
		}
	default:
		return newClientBugError("Unknown NOTIFY filter " + filter)
	}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var none string
	if dec.Atom(&none) {
		if !strings.EqualFold(none, "NONE") {
			return newClientBugError("Expected NONE or a list of events")
		}
		return nil
	}
	var fetchNext bool
	err := dec.ExpectList(func() error {
		if fetchNext {
			fetchNext = false
			isList, err := dec.List(func() error { return readNotifyFetchAtt(dec, g) })
			if err != nil || isList {
				return err
			}
		}
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		ev := notifyEventByName(name)
		if ev == "" {
			// An unknown event is still an event: refused below with
			// BADEVENT, which tells the client what works.
			ev = NotifyEvent(name)
		}
		g.Events = append(g.Events, ev)
		fetchNext = ev == NotifyMessageNew
		return nil
	})
	if err != nil {
		return err
	}
	if len(g.Events) == 0 {
		return newClientBugError("Empty event list (use NONE)")
	}
	if g.Fetch != nil && !g.IsSelected() {
		return newClientBugError("MessageNew fetch attributes are only for the selected mailbox")
	}
	if g.IsSelected() {
		// RFC 5465 section 5: MessageNew and MessageExpunge go
		// together, and FlagChange needs both (else the client's
		// sequence numbers drift).
		newMsg, expunge := g.Has(NotifyMessageNew), g.Has(NotifyMessageExpunge)
		if newMsg != expunge {
			return newClientBugError("MessageNew and MessageExpunge must be together")
		}
		if (g.Has(NotifyFlagChange) || g.Has(NotifyAnnotationChange)) && !expunge {
			return newClientBugError("FlagChange requires MessageNew and MessageExpunge")
		}
		for _, ev := range g.Events {
			if ev == NotifyMailboxName || ev == NotifySubscriptionChange {
				return newClientBugError("Mailbox events do not apply to the selected mailbox")
			}
		}
	}
	return nil
}

// readNotifyFetchAtt reads one fetch-att of MessageNew.
func readNotifyFetchAtt(dec *imapwire.Decoder, g *NotifyGroup) error {
	if g.Fetch == nil {
		g.Fetch = &imap.FetchOptions{}
		g.fetchWriter = fetchWriterOptions{obsolete: make(map[*imap.FetchItemBodySection]string)}
	}
	if err := readListFetchAtt(dec, g.Fetch, &g.fetchWriter); err != nil {
		return err
	}
	for _, bs := range g.Fetch.BodySection {
		bs.Peek = true
	}
	for _, bs := range g.Fetch.BinarySection {
		bs.Peek = true
	}
	return nil
}

func notifyEventByName(name string) NotifyEvent {
	for _, ev := range notifyKnown {
		if strings.EqualFold(name, string(ev)) {
			return ev
		}
	}
	return ""
}

// checkNotifyEvents refuses a NOTIFY SET with an event the server does
// not deliver: NO [BADEVENT (the events it supports)] (RFC 5465
// section 3.1).
func checkNotifyEvents(options *NotifyOptions) error {
	for _, g := range options.Groups {
		for _, ev := range g.Events {
			supported := false
			for _, s := range notifySupported {
				supported = supported || ev == s
			}
			if !supported {
				names := make([]string, len(notifySupported))
				for i, s := range notifySupported {
					names[i] = string(s)
				}
				return &imap.Error{Type: imap.StatusResponseTypeNo,
					Code: imap.ResponseCode("BADEVENT (" + strings.Join(names, " ") + ")"),
					Text: "Unsupported NOTIFY event " + string(ev)}
			}
		}
	}
	return nil
}
